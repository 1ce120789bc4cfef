import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { EntityManager } from 'typeorm';
import type { AllocationStatus, GpuAllocationView, GpuRefusal, GpuRefusalReason, GpuRequest, UsageMode } from './gpu.activities';
import { normalizeGpuType } from './policy';

/**
 * Row mapping and small plumbing shared by the ledger's parts (capacity and policy, allocation,
 * metering): how a row reads as a view, the errors the activities throw, locks and hashes.
 */

export type Row = Record<string, unknown>;

/** Statuses that hold capacity: from reservation until release, whatever the planned window says. */
export const LIVE = `('reserved', 'active')`;

export interface CapacityInput {
  id?: string;
  site: string;
  cluster: string;
  provider: string;
  gpuType: string;
  count: number;
  ownership: 'owned' | 'leased';
  lessorOrganisationId?: string | null;
  availableFrom: string;
  availableUntil?: string | null;
}

export interface CapacityView {
  id: string;
  site: string;
  cluster: string;
  provider: string;
  gpuType: string;
  count: number;
  ownership: 'owned' | 'leased';
  lessorOrganisationId: string | null;
  availableFrom: string;
  availableUntil: string | null;
  registeredAt: string;
  registeredBy: string;
}

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

export function normalizeRequest(request: GpuRequest): GpuRequest {
  if ('alternatives' in request) return { alternatives: request.alternatives.map((a) => ({ type: normalizeGpuType(a.type), count: a.count })) };
  return {
    equivalentTo: { type: normalizeGpuType(request.equivalentTo.type), count: request.equivalentTo.count },
    ...(request.acceptTypes ? { acceptTypes: request.acceptTypes.map(normalizeGpuType) } : {}),
  };
}

export function validateKeyAndGrant(input: { idempotencyKey?: unknown; grantId?: unknown }): void {
  if (typeof input?.idempotencyKey !== 'string' || input.idempotencyKey.length === 0) throw gpuError('validation_failed', 'an idempotency key is required', 'idempotencyKey');
  if (typeof input.grantId !== 'string' || input.grantId.length === 0) throw gpuError('validation_failed', 'a grant id is required', 'grantId');
}

/** Refusals of the input itself are not retried: a non-retryable failure carrying a domain code. */
export function gpuError(code: string, reason: string, field?: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'DomainError',
    message: field ? `${code}: ${field}: ${reason}` : `${code}: ${reason}`,
    nonRetryable: true,
    details: [{ code, issues: [{ field: field ?? '', reason }] }],
  });
}

/** Type `GpuIdempotencyConflict`, non-retryable: the caller's keys are wrong, a retry cannot help. */
export function keyConflict(key: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'GpuIdempotencyConflict',
    message: `idempotency key '${key}' was used before with a different input`,
    nonRetryable: true,
    details: [{ code: 'conflict', issues: [{ field: 'idempotencyKey', reason: 'used before with a different input' }] }],
  });
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

/** Writes one domain event to the outbox in the ledger transaction (appended to the event store after the commit). */
export async function outbox(tx: EntityManager, streamId: string, eventId: string, type: string, data: Record<string, unknown>, metadata: Record<string, unknown>, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO gpu_event_outbox (event_id, stream_id, type, data, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
    [eventId, streamId, type, JSON.parse(JSON.stringify(data)), metadata, at],
  );
}

/** The operation recorded under a key, checked to be the same operation (else the key was reused). */
export async function operationByKey(tx: EntityManager, key: string, grantId: string, kind: string, inputHash: string): Promise<Row | undefined> {
  const [op] = (await tx.query('SELECT * FROM gpu_operations WHERE idempotency_key = $1', [key])) as Row[];
  if (op && ((op.input_hash as string).trim() !== inputHash || op.kind !== kind || op.grant_id !== grantId)) throw keyConflict(key);
  return op;
}
