import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '@concentra/domain';
import { GpuPoolPolicySchema, type GpuPoolPolicy } from './policy';
import { outbox } from './gpu-ledger.outbox';
import { GPU_POOL_STREAM, LIVE, gpuError, type Row } from './gpu-ledger.rows';

/**
 * The stored pool policy (versioned) and what is held on a capacity row. Which rows may serve a
 * window and the lessor rule are pure functions of what is read here (`policy.ts`).
 *
 * **Held from reservation until release.** A live allocation (reserved or active) holds its GPUs on
 * its row until it is released, whatever its planned window says: a grant keeps its Slurm account
 * through evaluation rounds, narrowing and extension until the workflow releases it, and the ledger
 * must not count on a release that has not happened. Every new request or growth holds until *its*
 * release too, so both overlap from the later start onwards, and the peak of what is held on a row
 * is simply the sum of its live allocations. That is the check, under the row's lock.
 */

export interface StoredPolicy {
  version: number;
  policy: GpuPoolPolicy;
  createdAt: string;
  createdBy: string;
}

export async function readPolicy(tx: EntityManager | DataSource): Promise<StoredPolicy> {
  const [row] = (await tx.query('SELECT version, document, created_at, created_by FROM gpu_pool_policies ORDER BY version DESC LIMIT 1')) as Row[];
  if (!row) throw new Error('no GPU pool policy is stored (migration 1764288300000 inserts version 1)');
  return { version: row.version as number, policy: GpuPoolPolicySchema.parse(row.document), createdAt: (row.created_at as Date).toISOString(), createdBy: row.created_by as string };
}

export async function policyHistory(db: DataSource): Promise<Omit<StoredPolicy, 'policy'>[]> {
  const rows = (await db.query('SELECT version, created_at, created_by FROM gpu_pool_policies ORDER BY version DESC')) as Row[];
  return rows.map((r) => ({ version: r.version as number, createdAt: (r.created_at as Date).toISOString(), createdBy: r.created_by as string }));
}

/**
 * Adds a policy version in the transaction, unless the document equals the latest (a repeated PUT is
 * one version). `basedOnVersion`, when given, must be the latest: a manager editing a stale copy gets
 * a conflict instead of silently undoing someone else's change.
 */
export async function writePolicy(
  tx: EntityManager,
  document: unknown,
  actor: { role: string; subject: string },
  basedOnVersion?: number,
): Promise<StoredPolicy & { changed: boolean }> {
  const policy = GpuPoolPolicySchema.parse(document);
  await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('gpu_pool_policies', 0))`);
  const current = await readPolicy(tx);
  if (canonicalJson(current.policy) === canonicalJson(policy)) return { ...current, changed: false };
  if (basedOnVersion !== undefined && basedOnVersion !== current.version) {
    throw gpuError('conflict', `the pool policy is at version ${current.version}, not ${basedOnVersion}: read it again and re-apply the change`, 'basedOnVersion');
  }
  const next = current.version + 1;
  const [{ now }] = (await tx.query('SELECT now() AS now')) as [{ now: Date }];
  await tx.query('INSERT INTO gpu_pool_policies (version, document, created_by, created_at) VALUES ($1, $2, $3, $4)', [next, policy, actor.subject, now]);
  await outbox(tx, GPU_POOL_STREAM, `gpu-pool-policy:${next}`, 'GpuPoolPolicyChanged', { version: next, policy, basedOnVersion: current.version }, { actor }, now);
  return { version: next, policy, createdAt: now.toISOString(), createdBy: actor.subject, changed: true };
}

/** GPUs held on a capacity row by live allocations (optionally but one): held from reservation until release. */
export async function heldOn(tx: EntityManager, capacityId: string, exceptAllocation?: string): Promise<number> {
  const [{ held }] = (await tx.query(
    `SELECT coalesce(sum(count), 0)::int AS held FROM gpu_allocations
     WHERE capacity_id = $1 AND status IN ${LIVE} AND ($2::text IS NULL OR id <> $2)`,
    [capacityId, exceptAllocation ?? null],
  )) as [{ held: number }];
  return held;
}
