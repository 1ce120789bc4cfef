import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { GpuIdempotencyConflict, GpuLedgerError } from './gpu-errors';
import type { AllocationStatus, GpuAllocationView, GpuRefusal, GpuRefusalReason, GpuRequest, UsageMode } from './gpu.activities';
import type { CapacityView } from './policy';

/**
 * Row mapping and small plumbing shared by the ledger's parts (capacity and policy, allocation,
 * metering): how a row reads as a view, the ledger's errors, locks and hashes.
 */

export type Row = Record<string, unknown>;

/** Statuses that hold capacity: from reservation until release, whatever the planned window says. */
export const LIVE = `('reserved', 'active')`;

export const GPU_POOL_STREAM = 'gpu-pool';
export const gpuStreamId = (grantId: string) => `gpu:${grantId}`;

export async function lockGrant(tx: EntityManager, grantId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gpu-grant:${grantId}`]);
}

export async function txNow(tx: EntityManager): Promise<Date> {
  const [{ now }] = (await tx.query('SELECT now() AS now')) as [{ now: Date }];
  return now;
}

/** TypeORM answers an UPDATE/DELETE ... RETURNING with [rows, count]; an INSERT/SELECT with rows. */
export function rowsOf(result: unknown): Row[] {
  const r = result as unknown[];
  return (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number' ? r[0] : r) as Row[];
}

/** A refusal of the input itself (the activities make it a non-retryable failure carrying the code). */
export function gpuError(code: 'validation_failed' | 'conflict' | 'invalid_state', reason: string, field?: string): GpuLedgerError {
  return new GpuLedgerError(code, reason, field);
}

/** The idempotency key was used before with another input (non-retryable `GpuIdempotencyConflict` at the activity boundary). */
export function keyConflict(key: string): GpuIdempotencyConflict {
  return new GpuIdempotencyConflict(key);
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : new Date(v as string).toISOString());
export const sameInstant = (a: string | null, b: string | null | undefined) => (a === null || b == null ? a === (b ?? null) : new Date(a).getTime() === new Date(b).getTime());
export const round = (n: number) => Math.round(n * 1e6) / 1e6;

export function isoWindow(row: Row) {
  return { from: iso(row.window_from) as string, to: iso(row.window_to) as string };
}

export function toCapacity(row: Row): CapacityView {
  return {
    id: row.id as string,
    site: row.site as string,
    cluster: row.cluster as string,
    provider: row.provider as string,
    gpuType: row.gpu_type as string,
    count: row.count as number,
    ownership: row.ownership as 'owned' | 'leased',
    lessorOrganisationId: (row.lessor_organisation_id as string | null) ?? null,
    availableFrom: iso(row.available_from) as string,
    availableUntil: iso(row.available_until),
    registeredAt: iso(row.registered_at) as string,
    registeredBy: row.registered_by as string,
  };
}

export function toRefusal(row: Row): GpuRefusal | null {
  if (!row.refusal_reason) return null;
  const detail = (row.refusal_detail as Partial<GpuRefusal> | null | undefined) ?? {};
  return { reason: row.refusal_reason as GpuRefusalReason, message: row.refusal_message as string, ...detail };
}

export function toView(row: Row): GpuAllocationView & { status: AllocationStatus } {
  return {
    allocationId: row.id as string,
    grantId: row.grant_id as string,
    organisationId: row.organisation_id as string,
    status: row.status as AllocationStatus,
    requested: row.request as GpuRequest,
    served: row.capacity_id
      ? {
          type: row.gpu_type as string,
          count: row.count as number,
          site: row.site as string,
          cluster: row.cluster as string,
          capacityId: row.capacity_id as string,
          rate: row.rate as number,
        }
      : null,
    window: isoWindow(row),
    gpuMinutes: (row.gpu_minutes as number | null) ?? null,
    account: row.account ? { provider: row.provider as string, cluster: row.cluster as string, account: row.account as string } : null,
    mode: row.mode as UsageMode,
    refusal: toRefusal(row),
    releasedReason: (row.released_reason as string | null) ?? null,
    gpuMinutesUsed: row.gpu_minutes_used as number,
    policyVersion: row.policy_version as number,
    shortfall: row.asked_count == null || row.count == null ? 0 : Math.max(0, (row.asked_count as number) - (row.count as number)),
  };
}

/** The operation recorded under a key, checked to be the same operation (else the key was reused). */
export async function operationByKey(tx: EntityManager, key: string, grantId: string, kind: string, inputHash: string): Promise<Row | undefined> {
  const [op] = (await tx.query('SELECT * FROM gpu_operations WHERE idempotency_key = $1', [key])) as Row[];
  if (op && ((op.input_hash as string).trim() !== inputHash || op.kind !== kind || op.grant_id !== grantId)) throw keyConflict(key);
  return op;
}
