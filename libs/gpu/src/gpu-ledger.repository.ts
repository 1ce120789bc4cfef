import type { DataSource, EntityManager } from 'typeorm';
import type { GpuRefusal, GpuRefusalReason } from './gpu.activities';
import { LIVE, rowsOf, toCapacity, type Row } from './gpu-ledger.rows';
import type { CapacityInput, CapacityView, RowHolding } from './policy';

/**
 * The ledger's SQL: allocations, operations and capacity rows, read and written in the caller's
 * transaction and mapped to views (`gpu-ledger.rows.ts`). No rule is decided here.
 */

type Db = EntityManager | DataSource;

// ------------------------------------------------------------------------------------------
// capacity

export async function capacityById(tx: Db, id: string): Promise<CapacityView | undefined> {
  const [row] = (await tx.query('SELECT * FROM gpu_capacity WHERE id = $1', [id])) as Row[];
  return row ? toCapacity(row) : undefined;
}

export async function insertCapacity(tx: EntityManager, id: string, c: Required<CapacityInput>, registeredBy: string): Promise<Row> {
  const [row] = (await tx.query(
    `INSERT INTO gpu_capacity (id, site, cluster, provider, gpu_type, count, ownership, lessor_organisation_id, available_from, available_until, registered_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
    [id, c.site, c.cluster, c.provider, c.gpuType, c.count, c.ownership, c.lessorOrganisationId, c.availableFrom, c.availableUntil, registeredBy],
  )) as Row[];
  return row;
}

export async function allCapacity(db: Db): Promise<CapacityView[]> {
  return ((await db.query('SELECT * FROM gpu_capacity ORDER BY site, gpu_type, id')) as Row[]).map(toCapacity);
}

/**
 * Locks, in id order, the rows a reservation depends on (every row of the asked types and every row
 * the organisation leases to the pool), with what live allocations hold on each.
 */
export async function lockCapacityFor(tx: EntityManager, types: string[], organisationId: string): Promise<RowHolding[]> {
  const rows = ((await tx.query(`SELECT * FROM gpu_capacity WHERE gpu_type = ANY($1) OR lessor_organisation_id = $2 ORDER BY id FOR UPDATE`, [types, organisationId])) as Row[]).map(toCapacity);
  return withHeld(tx, rows);
}

export async function lockCapacityRow(tx: EntityManager, id: string): Promise<CapacityView> {
  const [cap] = ((await tx.query('SELECT * FROM gpu_capacity WHERE id = $1 FOR UPDATE', [id])) as Row[]).map(toCapacity);
  return cap;
}

export async function leasesOf(tx: EntityManager, organisationId: string): Promise<RowHolding[]> {
  return withHeld(tx, ((await tx.query('SELECT * FROM gpu_capacity WHERE lessor_organisation_id = $1 ORDER BY id', [organisationId])) as Row[]).map(toCapacity));
}

/** What live allocations (reserved or active) hold on each row: held from reservation until release. */
async function withHeld(tx: EntityManager, rows: CapacityView[]): Promise<RowHolding[]> {
  if (rows.length === 0) return [];
  const held = (await tx.query(
    `SELECT capacity_id, coalesce(sum(count), 0)::int AS held FROM gpu_allocations WHERE capacity_id = ANY($1) AND status IN ${LIVE} GROUP BY capacity_id`,
    [rows.map((r) => r.id)],
  )) as { capacity_id: string; held: number }[];
  const byRow = new Map(held.map((h) => [h.capacity_id, h.held]));
  return rows.map((row) => ({ row, held: byRow.get(row.id) ?? 0 }));
}

// ------------------------------------------------------------------------------------------
// allocations

export async function allocationByKey(tx: EntityManager, idempotencyKey: string): Promise<Row | undefined> {
  const [row] = (await tx.query('SELECT * FROM gpu_allocations WHERE idempotency_key = $1', [idempotencyKey])) as Row[];
  return row;
}

export async function allocationById(db: Db, id: string, forUpdate = false): Promise<Row> {
  const [row] = (await db.query(`SELECT * FROM gpu_allocations WHERE id = $1${forUpdate ? ' FOR UPDATE' : ''}`, [id])) as Row[];
  return row;
}

/** The grant's allocation that holds (or is about to hold) capacity; with `requested`, one still being decided too. */
export async function liveAllocation(tx: EntityManager, grantId: string, requested: boolean): Promise<Row | undefined> {
  const statuses = requested ? `('requested', ${LIVE.slice(1)}` : LIVE;
  const [row] = (await tx.query(`SELECT * FROM gpu_allocations WHERE grant_id = $1 AND status IN ${statuses}`, [grantId])) as Row[];
  return row;
}

export async function latestAllocation(db: Db, grantId: string): Promise<Row | undefined> {
  const [row] = (await db.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [grantId])) as Row[];
  return row;
}

export interface RequestedAllocation {
  id: string;
  idempotencyKey: string;
  inputHash: string;
  grantId: string;
  organisationId: string;
  request: unknown;
  policyVersion: number;
  from: Date;
  to: Date;
  users: string[];
  now: Date;
}

export async function insertRequested(tx: EntityManager, a: RequestedAllocation): Promise<void> {
  await tx.query(
    `INSERT INTO gpu_allocations (id, idempotency_key, input_hash, grant_id, organisation_id, status, request, policy_version, window_from, window_to, users, requested_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8, $9, $10, $11, $11)`,
    [a.id, a.idempotencyKey, a.inputHash, a.grantId, a.organisationId, a.request, a.policyVersion, a.from, a.to, JSON.stringify(a.users), a.now],
  );
}

export async function markRefused(tx: EntityManager, id: string, reason: GpuRefusalReason, message: string, detail: Omit<GpuRefusal, 'reason' | 'message'>, now: Date): Promise<Row> {
  const [row] = rowsOf(await tx.query(
    `UPDATE gpu_allocations SET status = 'refused', refusal_reason = $2, refusal_message = $3, refusal_detail = $4, refused_at = $5, updated_at = $5 WHERE id = $1 RETURNING *`,
    [id, reason, message, detail, now],
  ));
  return row;
}

export interface Reservation {
  capacity: CapacityView;
  gpuType: string;
  count: number;
  rate: number;
  gpuMinutes: number | null;
  account: string;
  askedCount: number;
}

export async function markReserved(tx: EntityManager, id: string, r: Reservation, now: Date): Promise<Row> {
  const [row] = rowsOf(await tx.query(
    `UPDATE gpu_allocations SET status = 'reserved', capacity_id = $2, site = $3, cluster = $4, provider = $5, gpu_type = $6, count = $7, rate = $8,
       gpu_minutes = $9, account = $10, asked_count = $11, reserved_at = $12, updated_at = $12 WHERE id = $1 RETURNING *`,
    [id, r.capacity.id, r.capacity.site, r.capacity.cluster, r.capacity.provider, r.gpuType, r.count, r.rate, r.gpuMinutes, r.account, r.askedCount, now],
  ));
  return row;
}

export async function markActive(tx: EntityManager, id: string, now: Date): Promise<Row> {
  const [row] = rowsOf(await tx.query(`UPDATE gpu_allocations SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1 RETURNING *`, [id, now]));
  return row;
}

export interface Limits {
  windowTo: Date;
  count: number;
  gpuMinutes: number | null;
  mode: string;
}

/** New limits; the count asked is remembered only when the caller set the GPUs. */
export async function updateLimits(tx: EntityManager, id: string, l: Limits, gpusAsked: boolean, now: Date): Promise<void> {
  await tx.query(
    `UPDATE gpu_allocations SET window_to = $2, count = $3, gpu_minutes = $4, mode = $5, updated_at = $6,
       asked_count = CASE WHEN $7::boolean THEN $3 ELSE asked_count END WHERE id = $1`,
    [id, l.windowTo, l.count, l.gpuMinutes, l.mode, now, gpusAsked],
  );
}

export async function markReleased(tx: EntityManager, id: string, reason: string, gpuMinutesUsed: number, now: Date): Promise<void> {
  await tx.query(`UPDATE gpu_allocations SET status = 'released', released_reason = $2, released_at = $3, gpu_minutes_used = $4, updated_at = $3 WHERE id = $1`, [id, reason, now, gpuMinutesUsed]);
}

// ------------------------------------------------------------------------------------------
// operations (change, release): the key's record, started then done with its result

export interface Operation {
  idempotencyKey: string;
  grantId: string;
  kind: 'change' | 'release';
  inputHash: string;
  allocationId: unknown;
  now: Date;
}

export async function recordDone(tx: EntityManager, op: Operation, result: unknown): Promise<void> {
  await tx.query(
    `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, 'done', $6, $7, $7)`,
    [op.idempotencyKey, op.grantId, op.kind, op.inputHash, op.allocationId, result, op.now],
  );
}

export async function recordStarted(tx: EntityManager, op: Operation, target?: unknown): Promise<void> {
  await tx.query(
    `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, target, started_at) VALUES ($1, $2, $3, $4, $5, 'started', $6, $7)`,
    [op.idempotencyKey, op.grantId, op.kind, op.inputHash, op.allocationId, target ?? null, op.now],
  );
}

/** Done with its result, once the provider has done its part (a concurrent twin may have finished it first). */
export async function finishOperation(db: Db, key: string, result: unknown): Promise<void> {
  await db.query(`UPDATE gpu_operations SET status = 'done', result = $2, finished_at = now() WHERE idempotency_key = $1 AND status = 'started'`, [key, result]);
}

/** Done with its result, in the transaction that recorded the outcome. */
export async function finishOperationAt(tx: EntityManager, key: string, result: unknown, at: Date): Promise<void> {
  await tx.query(`UPDATE gpu_operations SET status = 'done', result = $2, finished_at = $3 WHERE idempotency_key = $1`, [key, result, at]);
}
