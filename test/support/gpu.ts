import type { DataSource } from 'typeorm';
import type { EventStore } from '@concentra/persistence';
import { activitiesOf } from '@concentra/temporal';
import {
  GpuLedger,
  GpuProviders,
  GpuProvisioningActivities,
  LedgerProvider,
  toView,
  type CapacityInput,
  type GpuAllocationView,
  type GpuLedgerOptions,
  type GpuProvider,
} from '@concentra/gpu';

export interface GpuTestPool {
  ledger: GpuLedger;
  /** The real GPU activities (`provisionGrant`, `changeGrant`, ...), ready for a worker. */
  activities: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Allocations holding GPUs right now (reserved or active). */
  liveAllocations(): Promise<GpuAllocationView[]>;
  allocations(): Promise<GpuAllocationView[]>;
}

/** Plenty of owned capacity of every common type, available for all time, on the ledger-only provider. */
export const GENEROUS_TEST_CAPACITY: CapacityInput[] = ['H100', 'H200', 'B200'].map((type) => ({
  id: `test-${type.toLowerCase()}`,
  site: 'test-site',
  cluster: 'test-cluster',
  provider: 'ledger',
  gpuType: type,
  count: 1_000_000,
  ownership: 'owned',
  availableFrom: '2000-01-01T00:00:00.000Z',
  availableUntil: null,
}));

/**
 * The real GPU ledger and activities on a test database, with the ledger-only provider (accounts
 * are rows, no scheduler) unless other providers are given: for workflow scenarios that need GPUs
 * provisioned and given back without a Slurm cluster. Slurm itself is tested in libs/gpu.
 */
export async function createGpuTestActivities(
  db: DataSource,
  store: EventStore,
  options: { capacity?: CapacityInput[]; providers?: GpuProvider[] } & GpuLedgerOptions = {},
): Promise<GpuTestPool> {
  const providers = new GpuProviders(options.providers ?? [new LedgerProvider(db)]);
  const ledger = new GpuLedger(db, store, providers, options);
  for (const c of options.capacity ?? GENEROUS_TEST_CAPACITY) await ledger.registerCapacity(c, { role: 'system', subject: 'test-setup' });
  const rows = async (where: string) =>
    ((await db.query(`SELECT * FROM gpu_allocations ${where} ORDER BY requested_at, id`)) as Record<string, unknown>[]).map(toView);
  return {
    ledger,
    activities: activitiesOf(new GpuProvisioningActivities(ledger)),
    liveAllocations: () => rows(`WHERE status IN ('reserved', 'active')`),
    allocations: () => rows(''),
  };
}
