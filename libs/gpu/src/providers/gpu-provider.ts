import type { UsageMode } from '../gpu.activities';

/**
 * What a scheduler or a lessor's platform must do for the pool. Every method is idempotent:
 * it is called again, with the same arguments, after a crash at any point.
 * See libs/gpu/README.md for adding a provider.
 */
export interface GpuProvider {
  /** The name capacity rows refer to (`gpu_capacity.provider`). */
  readonly name: string;
  /**
   * The account (project, namespace, ...) an allocation gets on a cluster: deterministic from the
   * allocation id (itself from the provisioning key), so a retry finds the same account, and never
   * reused by another allocation (Slurm keys job history by account name).
   */
  accountName(allocationId: string): string;
  /** Creates the account with these limits, or brings an existing one to them. */
  ensureAccount(spec: ProviderAccountSpec): Promise<{ created: boolean }>;
  /** Sets the account's limits (extension, new budget, throttle, suspend). */
  changeLimits(spec: ProviderAccountSpec): Promise<void>;
  /** Stops what runs in the account and removes it; `removed: false` when it was already gone. */
  removeAccount(ref: ProviderAccount): Promise<{ removed: boolean }>;
  /** Whether the account exists (used by tests and the crash-recovery path). */
  accountExists(ref: ProviderAccount): Promise<boolean>;
  /** GPU usage of the account's jobs over [since, until]. */
  usage(ref: ProviderAccount, since: Date, until: Date): Promise<ProviderUsage>;
}

export interface ProviderAccount {
  cluster: string;
  account: string;
}

export interface ProviderAccountSpec extends ProviderAccount {
  grantId: string;
  organisationId: string;
  gpuType: string;
  /** Concurrent GPUs the account may hold (Slurm: GrpTRES=gres/gpu=N). */
  gpus: number;
  /** Total GPU-minutes (Slurm: GrpTRESMins=gres/gpu=M); null = no budget. */
  gpuMinutes: number | null;
  mode: UsageMode;
  /** Throttled accounts hold at most ceil(gpus * fraction) GPUs under this QOS. */
  throttle: { gpuFraction: number };
  users: string[];
}

export interface ProviderUsage {
  gpuMinutes: number;
  jobs: number;
}

/** Effective concurrent GPU limit for a mode. */
export function effectiveGpus(spec: Pick<ProviderAccountSpec, 'gpus' | 'mode' | 'throttle'>): number {
  if (spec.mode === 'suspended') return 0;
  if (spec.mode === 'throttled') return Math.max(0, Math.ceil(spec.gpus * spec.throttle.gpuFraction));
  return spec.gpus;
}

/** The providers the worker knows, by name. */
export class GpuProviders {
  private readonly byName = new Map<string, GpuProvider>();

  constructor(providers: GpuProvider[]) {
    for (const p of providers) this.byName.set(p.name, p);
  }

  get(name: string): GpuProvider {
    const provider = this.byName.get(name);
    if (!provider) throw new Error(`no GPU provider '${name}' is configured (known: ${[...this.byName.keys()].join(', ')})`);
    return provider;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}
