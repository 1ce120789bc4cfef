import { createHash, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '@concentra/domain';
import type { EventStore, NewEvent } from '@concentra/persistence';
import type {
  AllocationStatus,
  ChangeGrantInput,
  ChangeGrantResult,
  GpuAllocationView,
  GpuRefusalReason,
  GpuRequest,
  MeterUsageInput,
  MeterUsageResult,
  ProvisionGrantInput,
  ProvisionGrantResult,
  ReleaseGrantInput,
  ReleaseGrantResult,
  UsageMode,
  UsageThreshold,
} from './gpu.activities';
import { GpuPoolPolicySchema, alternativesFor, crossedThresholds, normalizeGpuType, requestProblem, strongestAction, type GpuPoolPolicy } from './policy';
import type { GpuProviders, ProviderAccountSpec } from './providers/gpu-provider';

/** Points where a test may stop the process (a real crash, e.g. SIGKILL), to prove recovery. */
export interface GpuLedgerFaults {
  /** After the provider created or ensured the account, before the ledger records it active. */
  afterProviderAccount?: (allocationId: string) => void | Promise<void>;
  /** After the provider removed the account, before the ledger records the release. */
  afterProviderRemove?: (allocationId: string) => void | Promise<void>;
}

export interface GpuLedgerOptions {
  faults?: GpuLedgerFaults;
  clock?: () => Date;
}

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

const LIVE = `('reserved', 'active')`;

type Row = Record<string, unknown>;

/**
 * The national GPU pool in PostgreSQL. Capacity rows are locked (`SELECT ... FOR UPDATE`, in id
 * order) by every transaction that reserves or grows an allocation on them, so concurrent requests
 * queue on the rows they compete for and never over-commit. Every state change writes its domain
 * events to an outbox in the same transaction; they reach the event store right after, and again on
 * any retry until they are in.
 */
export class GpuLedger {
  private readonly clock: () => Date;

  constructor(
    private readonly db: DataSource,
    private readonly events: EventStore,
    private readonly providers: GpuProviders,
    private readonly options: GpuLedgerOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
  }

  // ------------------------------------------------------------------------------------------
  // policy and capacity

  async policy(tx: EntityManager | DataSource = this.db): Promise<{ version: number; policy: GpuPoolPolicy }> {
    const [row] = (await tx.query('SELECT version, document FROM gpu_pool_policies ORDER BY version DESC LIMIT 1')) as Row[];
    if (!row) throw new Error('no GPU pool policy is stored (migration 1764288300000 inserts version 1)');
    return { version: row.version as number, policy: GpuPoolPolicySchema.parse(row.document) };
  }

  /** Stores a new policy version (rates, lessor rule, thresholds); allocations keep the version they were decided under. */
  async setPolicy(document: unknown, actor: string): Promise<{ version: number; policy: GpuPoolPolicy }> {
    const policy = GpuPoolPolicySchema.parse(document);
    const version = await this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('gpu_pool_policies', 0))`);
      const [{ next }] = (await tx.query('SELECT coalesce(max(version), 0) + 1 AS next FROM gpu_pool_policies')) as [{ next: number }];
      const [{ now }] = (await tx.query('SELECT now() AS now')) as [{ now: Date }];
      await tx.query('INSERT INTO gpu_pool_policies (version, document, created_by, created_at) VALUES ($1, $2, $3, $4)', [next, policy, actor, now]);
      await this.outbox(tx, GPU_POOL_STREAM, `gpu-pool-policy:${next}`, 'GpuPoolPolicyChanged', { version: next, policy }, { actor: { role: 'system', subject: actor } }, now);
      return next;
    });
    await this.flush(GPU_POOL_STREAM);
    return { version, policy };
  }

  /** Registers capacity; the same id with the same content is a retry, with different content a conflict. */
  async registerCapacity(input: CapacityInput, actor: { role: string; subject: string }): Promise<CapacityView> {
    const c = { ...input, gpuType: normalizeGpuType(input.gpuType), lessorOrganisationId: input.lessorOrganisationId ?? null, availableUntil: input.availableUntil ?? null };
    if (c.ownership === 'leased' && !c.lessorOrganisationId) throw gpuError('validation_failed', 'leased capacity names its lessor organisation', 'lessorOrganisationId');
    if (c.ownership === 'owned' && c.lessorOrganisationId) throw gpuError('validation_failed', 'owned capacity has no lessor', 'lessorOrganisationId');
    if (c.availableUntil && new Date(c.availableUntil) <= new Date(c.availableFrom)) throw gpuError('validation_failed', 'must be after availableFrom', 'availableUntil');
    this.providers.get(c.provider);
    const id = c.id ?? `cap_${randomUUID()}`;
    const view = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gpu-capacity:${id}`]);
      const [existing] = (await tx.query('SELECT * FROM gpu_capacity WHERE id = $1', [id])) as Row[];
      if (existing) {
        const v = toCapacity(existing);
        const same =
          v.site === c.site && v.cluster === c.cluster && v.provider === c.provider && v.gpuType === c.gpuType && v.count === c.count &&
          v.ownership === c.ownership && v.lessorOrganisationId === c.lessorOrganisationId &&
          sameInstant(v.availableFrom, c.availableFrom) && sameInstant(v.availableUntil, c.availableUntil);
        if (!same) throw gpuError('conflict', `capacity '${id}' is already registered with different content`, 'id');
        return v;
      }
      const [row] = (await tx.query(
        `INSERT INTO gpu_capacity (id, site, cluster, provider, gpu_type, count, ownership, lessor_organisation_id, available_from, available_until, registered_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING *`,
        [id, c.site, c.cluster, c.provider, c.gpuType, c.count, c.ownership, c.lessorOrganisationId, c.availableFrom, c.availableUntil, actor.subject],
      )) as Row[];
      const v = toCapacity(row);
      const { id: _id, registeredAt: _at, registeredBy: _by, ...data } = v;
      await this.outbox(tx, GPU_POOL_STREAM, `gpu-capacity:${id}:registered`, 'GpuCapacityRegistered', { capacityId: id, ...data }, { actor }, row.registered_at as Date);
      return v;
    });
    await this.flush(GPU_POOL_STREAM);
    return view;
  }

  async capacity(): Promise<CapacityView[]> {
    return ((await this.db.query('SELECT * FROM gpu_capacity ORDER BY site, gpu_type, id')) as Row[]).map(toCapacity);
  }

  // ------------------------------------------------------------------------------------------
  // provisioning: record intent → ensure the provider account → record active

  async provision(input: ProvisionGrantInput): Promise<ProvisionGrantResult> {
    validateKeyAndGrant(input);
    const problem = requestProblem(input.request);
    if (problem) throw gpuError('validation_failed', problem, 'request');
    const from = new Date(input.window?.from);
    const to = new Date(input.window?.to);
    if (Number.isNaN(from.getTime()) || Number.isNaN(to.getTime()) || to <= from) throw gpuError('validation_failed', 'window.from and window.to are instants, from before to', 'window');
    if (input.gpuMinutes !== undefined && !(input.gpuMinutes >= 0)) throw gpuError('validation_failed', 'must be a non-negative number', 'gpuMinutes');
    const { idempotencyKey: _key, ...rest } = input;
    const inputHash = sha256(canonicalJson({ ...rest, window: { from: from.toISOString(), to: to.toISOString() } }));

    let row = await this.reserve(input, inputHash, from, to);
    await this.flush(gpuStreamId(input.grantId));
    if (row.status === 'reserved') {
      const provider = this.providers.get(row.provider as string);
      await provider.ensureAccount(await this.accountSpec(row));
      await this.options.faults?.afterProviderAccount?.(row.id as string);
      row = await this.activate(row.id as string);
      await this.flush(gpuStreamId(input.grantId));
    }
    const view = toView(row);
    return { ...view, status: view.status } as ProvisionGrantResult;
  }

  private async reserve(input: ProvisionGrantInput, inputHash: string, from: Date, to: Date): Promise<Row> {
    return this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const [existing] = (await tx.query('SELECT * FROM gpu_allocations WHERE idempotency_key = $1', [input.idempotencyKey])) as Row[];
      if (existing) {
        if ((existing.input_hash as string).trim() !== inputHash || existing.grant_id !== input.grantId) throw keyConflict(input.idempotencyKey);
        return existing;
      }
      const [live] = (await tx.query(`SELECT id, idempotency_key FROM gpu_allocations WHERE grant_id = $1 AND status IN ('requested', ${LIVE.slice(1)}`, [input.grantId])) as Row[];
      if (live) {
        throw gpuError('conflict', `grant ${input.grantId} already holds allocation ${live.id as string} (provisioned with key ${live.idempotency_key as string})`, 'grantId');
      }
      const { version, policy } = await this.policy(tx);
      const now = await txNow(tx);
      const id = `alloc_${sha256(input.idempotencyKey).slice(0, 24)}`;
      const request = normalizeRequest(input.request);
      await tx.query(
        `INSERT INTO gpu_allocations (id, idempotency_key, input_hash, grant_id, organisation_id, status, request, policy_version, window_from, window_to, users, requested_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'requested', $6, $7, $8, $9, $10, $11, $11)`,
        [id, input.idempotencyKey, inputHash, input.grantId, input.organisationId, request, version, from, to, JSON.stringify(input.users ?? []), now],
      );

      const alternatives = alternativesFor(input.request, policy);
      const types = [...new Set(alternatives.map((a) => a.type))];
      // The rows this decision depends on, locked in one order by every writer: the candidate
      // capacity, and the capacity the requesting organisation leases to the pool.
      const locked = ((await tx.query(
        `SELECT * FROM gpu_capacity WHERE gpu_type = ANY($1) OR lessor_organisation_id = $2 ORDER BY id FOR UPDATE`,
        [types, input.organisationId],
      )) as Row[]).map(toCapacity);

      const refuse = async (reason: GpuRefusalReason, message: string) => {
        const [row] = rowsOf(await tx.query(
          `UPDATE gpu_allocations SET status = 'refused', refusal_reason = $2, refusal_message = $3, refused_at = $4, updated_at = $4 WHERE id = $1 RETURNING *`,
          [id, reason, message, now],
        )) as Row[];
        await this.outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuRequestRefused`, 'GpuRequestRefused', {
          allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, window: isoWindow(row), reason, message, policyVersion: version,
        }, { idempotencyKey: input.idempotencyKey }, now);
        return row;
      };

      if (policy.lessorConflict === 'exclude_while_in_use') {
        const own = locked.filter((c) => c.lessorOrganisationId === input.organisationId).map((c) => c.id);
        if (own.length > 0) {
          const [inUse] = (await tx.query(
            `SELECT count(*)::int AS n FROM gpu_allocations WHERE capacity_id = ANY($1) AND status IN ${LIVE} AND window_from < $3 AND window_to > $2`,
            [own, from, to],
          )) as [{ n: number }];
          if (inUse.n > 0) {
            return refuse('lessor_conflict', `${input.organisationId} leases capacity to the pool (${own.join(', ')}) that is in use; the pool policy excludes it from GPU support meanwhile`);
          }
        }
      }

      let knownType = false;
      for (const alt of alternatives) {
        const candidates = locked.filter(
          (c) => c.gpuType === alt.type && new Date(c.availableFrom) <= from && (c.availableUntil === null || new Date(c.availableUntil) >= to),
        );
        if (locked.some((c) => c.gpuType === alt.type)) knownType = true;
        const fits: { c: CapacityView; free: number }[] = [];
        for (const c of candidates) {
          if (policy.lessorConflict === 'exclude_while_in_use' && c.lessorOrganisationId) {
            // Serving a lessor's own capacity to anyone would put the lessor in conflict if it holds GPUs itself.
            const [lessorHolds] = (await tx.query(
              `SELECT count(*)::int AS n FROM gpu_allocations WHERE organisation_id = $1 AND status IN ${LIVE} AND window_from < $3 AND window_to > $2`,
              [c.lessorOrganisationId, from, to],
            )) as [{ n: number }];
            if (lessorHolds.n > 0 || c.lessorOrganisationId === input.organisationId) continue;
          }
          const free = c.count - (await usedOn(tx, c.id, from, to));
          if (free >= alt.count) fits.push({ c, free });
        }
        if (fits.length === 0) continue;
        fits.sort((a, b) => Number(b.c.site === input.preferSite) - Number(a.c.site === input.preferSite) || a.free - b.free || a.c.id.localeCompare(b.c.id));
        const chosen = fits[0].c;
        const first = alternatives[0];
        const gpuMinutes = input.gpuMinutes === undefined ? null : (input.gpuMinutes * alt.count) / first.count;
        const account = this.providers.get(chosen.provider).accountName(id);
        const [row] = rowsOf(await tx.query(
          `UPDATE gpu_allocations SET status = 'reserved', capacity_id = $2, site = $3, cluster = $4, provider = $5, gpu_type = $6, count = $7, rate = $8,
             gpu_minutes = $9, account = $10, reserved_at = $11, updated_at = $11 WHERE id = $1 RETURNING *`,
          [id, chosen.id, chosen.site, chosen.cluster, chosen.provider, alt.type, alt.count, alt.rate, gpuMinutes, account, now],
        )) as Row[];
        const v = toView(row);
        await this.outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpusReserved`, 'GpusReserved', {
          allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, served: v.served, window: v.window,
          gpuMinutes: v.gpuMinutes, account: v.account, servedAsRequested: alt.type === first.type, policyVersion: version,
        }, { idempotencyKey: input.idempotencyKey }, now);
        return row;
      }
      if (!knownType) return refuse('unknown_gpu_type', `the pool has no capacity of type ${types.join(' or ')}`);
      return refuse('insufficient_capacity', `no site has ${alternatives.map((a) => `${a.count} ${a.type}`).join(' or ')} free from ${from.toISOString()} to ${to.toISOString()}`);
    });
  }

  private async activate(id: string): Promise<Row> {
    return this.db.transaction(async (tx) => {
      const [current] = (await tx.query('SELECT * FROM gpu_allocations WHERE id = $1 FOR UPDATE', [id])) as Row[];
      if (current.status !== 'reserved') return current; // released meanwhile, or activated by a concurrent retry
      const now = await txNow(tx);
      const [row] = rowsOf(await tx.query(`UPDATE gpu_allocations SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1 RETURNING *`, [id, now])) as Row[];
      const v = toView(row);
      await this.outbox(tx, gpuStreamId(v.grantId), `${row.idempotency_key as string}:GpusAllocated`, 'GpusAllocated', {
        allocationId: id, grantId: v.grantId, organisationId: v.organisationId, served: v.served, window: v.window, gpuMinutes: v.gpuMinutes, account: v.account,
      }, { idempotencyKey: row.idempotency_key as string }, now);
      return row;
    });
  }

  // ------------------------------------------------------------------------------------------
  // change: extension, new limits, throttle / suspend

  async change(input: ChangeGrantInput): Promise<ChangeGrantResult> {
    validateKeyAndGrant(input);
    if (input.extendTo !== undefined && Number.isNaN(new Date(input.extendTo).getTime())) throw gpuError('validation_failed', 'must be an instant', 'extendTo');
    if (input.limits?.gpus !== undefined && !(Number.isInteger(input.limits.gpus) && input.limits.gpus > 0)) throw gpuError('validation_failed', 'must be a positive integer', 'limits.gpus');
    if (input.limits?.gpuMinutes != null && !(input.limits.gpuMinutes >= 0)) throw gpuError('validation_failed', 'must be a non-negative number', 'limits.gpuMinutes');
    if (input.mode !== undefined && !['normal', 'throttled', 'suspended'].includes(input.mode)) throw gpuError('validation_failed', 'normal, throttled or suspended', 'mode');
    const { idempotencyKey: _k, ...rest } = input;
    const inputHash = sha256(canonicalJson({ ...rest, extendTo: input.extendTo && new Date(input.extendTo).toISOString() }));

    const step = await this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const op = await this.operation(tx, input.idempotencyKey, input.grantId, 'change', inputHash);
      if (op?.status === 'done') return { done: op.result as ChangeGrantResult };
      const [alloc] = (await tx.query(`SELECT * FROM gpu_allocations WHERE grant_id = $1 AND status IN ${LIVE}`, [input.grantId])) as Row[];
      if (op) return { allocationId: op.allocation_id as string, alloc };
      if (!alloc) throw gpuError('invalid_state', `grant ${input.grantId} holds no live allocation to change`, 'grantId');
      const now = await txNow(tx);
      const current = toView(alloc);
      const windowTo = input.extendTo ? new Date(input.extendTo) : new Date(current.window.to);
      const count = input.limits?.gpus ?? (alloc.count as number);
      const gpuMinutes = input.limits && 'gpuMinutes' in input.limits ? (input.limits.gpuMinutes ?? null) : current.gpuMinutes;
      const mode = input.mode ?? current.mode;
      if (windowTo <= new Date(current.window.from)) throw gpuError('validation_failed', 'must be after the window start', 'extendTo');

      const grows = windowTo > new Date(current.window.to) || count > (alloc.count as number);
      if (grows) {
        const [cap] = ((await tx.query('SELECT * FROM gpu_capacity WHERE id = $1 FOR UPDATE', [alloc.capacity_id])) as Row[]).map(toCapacity);
        const from = new Date(current.window.from);
        const othersUsed = await usedOn(tx, cap.id, from, windowTo, alloc.id as string);
        const coversWindow = cap.availableUntil === null || new Date(cap.availableUntil) >= windowTo;
        if (!coversWindow || othersUsed + count > cap.count) {
          const message = !coversWindow
            ? `capacity ${cap.id} is available only until ${cap.availableUntil}`
            : `capacity ${cap.id} has ${cap.count - othersUsed} ${cap.gpuType} free until ${windowTo.toISOString()}, ${count} asked`;
          const result: ChangeGrantResult = { outcome: 'refused', allocation: current, refusal: { reason: 'insufficient_capacity', message } };
          await tx.query(
            `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, 'change', $3, $4, 'done', $5, $6, $6)`,
            [input.idempotencyKey, input.grantId, inputHash, alloc.id, result, now],
          );
          await this.outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuChangeRefused`, 'GpuChangeRefused', {
            allocationId: alloc.id, grantId: input.grantId, extendTo: windowTo.toISOString(), gpus: count, reason: 'insufficient_capacity', message,
          }, { idempotencyKey: input.idempotencyKey }, now);
          return { done: result };
        }
      }
      await tx.query(
        `UPDATE gpu_allocations SET window_to = $2, count = $3, gpu_minutes = $4, mode = $5, updated_at = $6 WHERE id = $1`,
        [alloc.id, windowTo, count, gpuMinutes, mode, now],
      );
      await tx.query(
        `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, target, started_at) VALUES ($1, $2, 'change', $3, $4, 'started', $5, $6)`,
        [input.idempotencyKey, input.grantId, inputHash, alloc.id, { windowTo: windowTo.toISOString(), count, gpuMinutes, mode }, now],
      );
      await this.outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuAllocationChanged`, 'GpuAllocationChanged', {
        allocationId: alloc.id, grantId: input.grantId,
        before: { windowTo: current.window.to, gpus: current.served?.count ?? null, gpuMinutes: current.gpuMinutes, mode: current.mode },
        after: { windowTo: windowTo.toISOString(), gpus: count, gpuMinutes, mode },
      }, { idempotencyKey: input.idempotencyKey }, now);
      const [updated] = (await tx.query('SELECT * FROM gpu_allocations WHERE id = $1', [alloc.id])) as Row[];
      return { allocationId: alloc.id as string, alloc: updated };
    });
    await this.flush(gpuStreamId(input.grantId));
    if ('done' in step) return step.done as ChangeGrantResult;

    const [alloc] = (await this.db.query('SELECT * FROM gpu_allocations WHERE id = $1', [step.allocationId])) as Row[];
    if (alloc.status === 'reserved' || alloc.status === 'active') {
      await this.providers.get(alloc.provider as string).changeLimits(await this.accountSpec(alloc));
    }
    const result: ChangeGrantResult = { outcome: 'changed', allocation: toView(alloc) };
    await this.finishOperation(input.idempotencyKey, result);
    return result;
  }

  // ------------------------------------------------------------------------------------------
  // release: twice is once

  async release(input: ReleaseGrantInput): Promise<ReleaseGrantResult> {
    validateKeyAndGrant(input);
    const inputHash = sha256(canonicalJson({ grantId: input.grantId, reason: input.reason }));
    const step = await this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const op = await this.operation(tx, input.idempotencyKey, input.grantId, 'release', inputHash);
      if (op?.status === 'done') return { done: op.result as ReleaseGrantResult };
      if (op) return { allocationId: op.allocation_id as string | null };
      const [alloc] = (await tx.query(`SELECT * FROM gpu_allocations WHERE grant_id = $1 AND status IN ('requested', ${LIVE.slice(1)}`, [input.grantId])) as Row[];
      const now = await txNow(tx);
      if (!alloc) {
        const [last] = (await tx.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [input.grantId])) as Row[];
        const result: ReleaseGrantResult = {
          released: false,
          allocationId: (last?.id as string) ?? null,
          gpuMinutesUsed: (last?.gpu_minutes_used as number) ?? 0,
          freed: null,
          reallocation: (await this.policy(tx)).policy.reallocation,
        };
        await tx.query(
          `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, 'release', $3, $4, 'done', $5, $6, $6)`,
          [input.idempotencyKey, input.grantId, inputHash, last?.id ?? null, result, now],
        );
        return { done: result };
      }
      await tx.query(
        `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, started_at) VALUES ($1, $2, 'release', $3, $4, 'started', $5)`,
        [input.idempotencyKey, input.grantId, inputHash, alloc.id, now],
      );
      return { allocationId: alloc.id as string };
    });
    if ('done' in step) {
      await this.flush(gpuStreamId(input.grantId));
      return step.done as ReleaseGrantResult;
    }

    const [alloc] = (await this.db.query('SELECT * FROM gpu_allocations WHERE id = $1', [step.allocationId])) as Row[];
    let usedMinutes = alloc.gpu_minutes_used as number;
    if (alloc.account && alloc.provider && alloc.status !== 'released') {
      const provider = this.providers.get(alloc.provider as string);
      const ref = { cluster: alloc.cluster as string, account: alloc.account as string };
      // The last measurement before the account goes, so the grant's total is known.
      usedMinutes = Math.max(usedMinutes, (await provider.usage(ref, alloc.window_from as Date, this.clock())).gpuMinutes);
      await provider.removeAccount(ref);
      await this.options.faults?.afterProviderRemove?.(alloc.id as string);
    }
    const result = await this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const finished = await this.operation(tx, input.idempotencyKey, input.grantId, 'release', inputHash);
      if (finished?.status === 'done') return finished.result as ReleaseGrantResult; // a concurrent twin finished first
      const [current] = (await tx.query('SELECT * FROM gpu_allocations WHERE id = $1 FOR UPDATE', [step.allocationId])) as Row[];
      const now = await txNow(tx);
      let released = false;
      if (current.status !== 'released' && current.status !== 'refused') {
        await tx.query(
          `UPDATE gpu_allocations SET status = 'released', released_reason = $2, released_at = $3, gpu_minutes_used = $4, updated_at = $3 WHERE id = $1`,
          [current.id, input.reason, now, usedMinutes],
        );
        released = true;
        await this.outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpusReleased`, 'GpusReleased', {
          allocationId: current.id, grantId: input.grantId, organisationId: current.organisation_id, reason: input.reason,
          freed: current.capacity_id ? { type: current.gpu_type, count: current.count, site: current.site, capacityId: current.capacity_id } : null,
          gpuMinutesUsed: usedMinutes, account: current.account,
        }, { idempotencyKey: input.idempotencyKey }, now);
      }
      const r: ReleaseGrantResult = {
        reallocation: (await this.policy(tx)).policy.reallocation,
        released,
        allocationId: current.id as string,
        gpuMinutesUsed: usedMinutes,
        freed: released && current.capacity_id
          ? { type: current.gpu_type as string, count: current.count as number, site: current.site as string, capacityId: current.capacity_id as string }
          : null,
      };
      await tx.query(`UPDATE gpu_operations SET status = 'done', result = $2, finished_at = $3 WHERE idempotency_key = $1`, [input.idempotencyKey, r, now]);
      return r;
    });
    await this.flush(gpuStreamId(input.grantId));
    return result;
  }

  // ------------------------------------------------------------------------------------------
  // metering

  async meter(input: MeterUsageInput): Promise<MeterUsageResult> {
    validateKeyAndGrant(input);
    const inputHash = sha256(canonicalJson({ grantId: input.grantId, thresholds: input.thresholds ?? null }));
    const [op] = (await this.db.query('SELECT * FROM gpu_operations WHERE idempotency_key = $1', [input.idempotencyKey])) as Row[];
    if (op) {
      if ((op.input_hash as string).trim() !== inputHash || op.kind !== 'meter') throw keyConflict(input.idempotencyKey);
      if (op.status === 'done') {
        await this.flush(gpuStreamId(input.grantId));
        return op.result as MeterUsageResult;
      }
    }
    const [alloc] = (await this.db.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [input.grantId])) as Row[];
    let measured: number | null = null;
    if (alloc && (alloc.status === 'active' || alloc.status === 'reserved') && alloc.account) {
      const provider = this.providers.get(alloc.provider as string);
      measured = (await provider.usage({ cluster: alloc.cluster as string, account: alloc.account as string }, alloc.window_from as Date, this.clock())).gpuMinutes;
    }
    const { policy } = await this.policy();
    const thresholds: UsageThreshold[] = input.thresholds ?? policy.thresholds;

    const result = await this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const existing = await this.operation(tx, input.idempotencyKey, input.grantId, 'meter', inputHash);
      if (existing?.status === 'done') return existing.result as MeterUsageResult;
      const now = await txNow(tx);
      if (!alloc) {
        const empty: MeterUsageResult = { grantId: input.grantId, allocationId: null, measuredAt: now.toISOString(), gpuHoursUsed: 0, gpuHoursGranted: null, fractionUsed: null, crossed: [], newlyCrossed: [], action: 'none' };
        await tx.query(
          `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, status, result, started_at, finished_at) VALUES ($1, $2, 'meter', $3, 'done', $4, $5, $5)`,
          [input.idempotencyKey, input.grantId, inputHash, empty, now],
        );
        return empty;
      }
      const [current] = (await tx.query(
        'SELECT a.*, EXISTS (SELECT 1 FROM gpu_usage_samples s WHERE s.allocation_id = a.id) AS last_sampled FROM gpu_allocations a WHERE a.id = $1 FOR UPDATE OF a',
        [alloc.id],
      )) as Row[];
      const usedMinutes = Math.max(current.gpu_minutes_used as number, measured ?? 0);
      const budget = current.gpu_minutes as number | null;
      // A zero budget that is used counts as fully spent.
      const fraction = budget === null ? null : budget === 0 ? (usedMinutes > 0 ? 1 : 0) : usedMinutes / budget;
      const crossed = crossedThresholds(fraction, thresholds);
      const before = (current.thresholds_crossed as UsageThreshold[]) ?? [];
      const key = (t: UsageThreshold) => `${t.atFraction}:${t.action}`;
      const newly = crossed.filter((t) => !before.some((b) => key(b) === key(t)));
      const mode = current.mode as UsageMode;
      const strongest = strongestAction(crossed);
      const applied = (a: string) => (a === 'throttle' && (mode === 'throttled' || mode === 'suspended')) || (a === 'suspend' && mode === 'suspended');
      const action: MeterUsageResult['action'] =
        strongest !== 'none' && strongest !== 'warn' && !applied(strongest) ? strongest : newly.some((t) => t.action === 'warn') ? 'warn' : 'none';
      const r: MeterUsageResult = {
        grantId: input.grantId,
        allocationId: current.id as string,
        measuredAt: now.toISOString(),
        gpuHoursUsed: round(usedMinutes / 60),
        gpuHoursGranted: budget === null ? null : round(budget / 60),
        fractionUsed: fraction === null ? null : round(fraction),
        crossed,
        newlyCrossed: newly,
        action,
      };
      await tx.query(`UPDATE gpu_allocations SET gpu_minutes_used = $2, thresholds_crossed = $3, updated_at = $4 WHERE id = $1`, [
        current.id, usedMinutes, JSON.stringify([...before, ...newly]), now,
      ]);
      // A reading that changes nothing (same usage, no threshold) is kept as the operation's result only:
      // no sample, no event, so daily metering of an idle grant does not flood the history.
      const changed = usedMinutes !== (current.gpu_minutes_used as number) || newly.length > 0 || (current.last_sampled as boolean) !== true;
      if (current.capacity_id && changed) {
        await tx.query(
          `INSERT INTO gpu_usage_samples (idempotency_key, allocation_id, grant_id, gpu_type, site, measured_at, gpu_minutes_used) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
          [input.idempotencyKey, current.id, input.grantId, current.gpu_type, current.site, now, usedMinutes],
        );
      }
      await tx.query(
        `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, 'meter', $3, $4, 'done', $5, $6, $6)`,
        [input.idempotencyKey, input.grantId, inputHash, current.id, r, now],
      );
      const stream = gpuStreamId(input.grantId);
      if (changed) await this.outbox(tx, stream, `${input.idempotencyKey}:GpuUsageMetered`, 'GpuUsageMetered', {
        allocationId: current.id, grantId: input.grantId, gpuHoursUsed: r.gpuHoursUsed, gpuHoursGranted: r.gpuHoursGranted, fractionUsed: r.fractionUsed, measuredAt: r.measuredAt,
      }, { idempotencyKey: input.idempotencyKey }, now);
      for (const t of newly) {
        await this.outbox(tx, stream, `${input.idempotencyKey}:GpuUsageThresholdCrossed:${key(t)}`, 'GpuUsageThresholdCrossed', {
          allocationId: current.id, grantId: input.grantId, threshold: t, gpuHoursUsed: r.gpuHoursUsed, gpuHoursGranted: r.gpuHoursGranted,
        }, { idempotencyKey: input.idempotencyKey }, now);
      }
      return r;
    });
    await this.flush(gpuStreamId(input.grantId));
    return result;
  }

  async describe(grantId: string): Promise<GpuAllocationView | null> {
    const [row] = (await this.db.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [grantId])) as Row[];
    return row ? toView(row) : null;
  }

  // ------------------------------------------------------------------------------------------
  // plumbing

  private async accountSpec(row: Row): Promise<ProviderAccountSpec> {
    const { policy } = await this.policy();
    return {
      cluster: row.cluster as string,
      account: row.account as string,
      grantId: row.grant_id as string,
      organisationId: row.organisation_id as string,
      gpuType: row.gpu_type as string,
      gpus: row.count as number,
      gpuMinutes: row.gpu_minutes as number | null,
      mode: row.mode as UsageMode,
      throttle: policy.throttle,
      users: (row.users as string[]) ?? [],
    };
  }

  private async operation(tx: EntityManager, key: string, grantId: string, kind: string, inputHash: string): Promise<Row | undefined> {
    const [op] = (await tx.query('SELECT * FROM gpu_operations WHERE idempotency_key = $1', [key])) as Row[];
    if (op && ((op.input_hash as string).trim() !== inputHash || op.kind !== kind || op.grant_id !== grantId)) throw keyConflict(key);
    return op;
  }

  private async finishOperation(key: string, result: unknown): Promise<void> {
    await this.db.query(`UPDATE gpu_operations SET status = 'done', result = $2, finished_at = now() WHERE idempotency_key = $1 AND status = 'started'`, [key, result]);
  }

  private async outbox(tx: EntityManager, streamId: string, eventId: string, type: string, data: Record<string, unknown>, metadata: Record<string, unknown>, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO gpu_event_outbox (event_id, stream_id, type, data, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
      [eventId, streamId, type, JSON.parse(JSON.stringify(data)), metadata, at],
    );
  }

  /** Appends the stream's pending outbox events to the event store (idempotent by event id). */
  async flush(streamId: string): Promise<void> {
    const rows = (await this.db.query('SELECT * FROM gpu_event_outbox WHERE stream_id = $1 AND appended_at IS NULL ORDER BY seq', [streamId])) as Row[];
    if (rows.length === 0) return;
    const events: NewEvent[] = rows.map((r) => ({
      eventId: r.event_id as string,
      type: r.type as string,
      data: r.data as Record<string, unknown>,
      metadata: r.metadata as NewEvent['metadata'],
      occurredAt: (r.occurred_at as Date).toISOString(),
    }));
    await this.events.append(streamId, events);
    await this.db.query('UPDATE gpu_event_outbox SET appended_at = now() WHERE seq = ANY($1)', [rows.map((r) => r.seq)]);
  }
}

// --------------------------------------------------------------------------------------------

async function lockGrant(tx: EntityManager, grantId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gpu-grant:${grantId}`]);
}

async function txNow(tx: EntityManager): Promise<Date> {
  const [{ now }] = (await tx.query('SELECT now() AS now')) as [{ now: Date }];
  return now;
}

/**
 * The most GPUs held at any instant of [from, to) on a capacity row by live allocations (the peak,
 * not the sum: a grant ending in February and one starting in March do not compete). The peak of
 * half-open windows is reached at `from` or at the start of one of them.
 */
async function usedOn(tx: EntityManager, capacityId: string, from: Date, to: Date, exceptAllocation?: string): Promise<number> {
  const [{ used }] = (await tx.query(
    `WITH overlapping AS (
       SELECT count, window_from, window_to FROM gpu_allocations
       WHERE capacity_id = $1 AND status IN ${LIVE} AND window_from < $3 AND window_to > $2 AND ($4::text IS NULL OR id <> $4)
     ), instants AS (
       SELECT $2::timestamptz AS t UNION SELECT window_from FROM overlapping WHERE window_from > $2
     )
     SELECT coalesce(max((SELECT sum(o.count) FROM overlapping o WHERE o.window_from <= i.t AND o.window_to > i.t)), 0)::int AS used
     FROM instants i`,
    [capacityId, from, to, exceptAllocation ?? null],
  )) as [{ used: number }];
  return used;
}

/** TypeORM answers an UPDATE/DELETE ... RETURNING with [rows, count]; an INSERT/SELECT with rows. */
function rowsOf(result: unknown): Row[] {
  const r = result as unknown[];
  return (Array.isArray(r) && r.length === 2 && Array.isArray(r[0]) && typeof r[1] === 'number' ? r[0] : r) as Row[];
}

function normalizeRequest(request: GpuRequest): GpuRequest {
  if ('alternatives' in request) return { alternatives: request.alternatives.map((a) => ({ type: normalizeGpuType(a.type), count: a.count })) };
  return {
    equivalentTo: { type: normalizeGpuType(request.equivalentTo.type), count: request.equivalentTo.count },
    ...(request.acceptTypes ? { acceptTypes: request.acceptTypes.map(normalizeGpuType) } : {}),
  };
}

function validateKeyAndGrant(input: { idempotencyKey?: unknown; grantId?: unknown }): void {
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
function keyConflict(key: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'GpuIdempotencyConflict',
    message: `idempotency key '${key}' was used before with a different input`,
    nonRetryable: true,
    details: [{ code: 'conflict', issues: [{ field: 'idempotencyKey', reason: 'used before with a different input' }] }],
  });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

const iso = (v: unknown) => (v instanceof Date ? v.toISOString() : v === null || v === undefined ? null : new Date(v as string).toISOString());
const sameInstant = (a: string | null, b: string | null | undefined) => (a === null || b == null ? a === (b ?? null) : new Date(a).getTime() === new Date(b).getTime());
const round = (n: number) => Math.round(n * 1e6) / 1e6;

function isoWindow(row: Row) {
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
    refusal: row.refusal_reason ? { reason: row.refusal_reason as GpuRefusalReason, message: row.refusal_message as string } : null,
    releasedReason: (row.released_reason as string | null) ?? null,
    gpuMinutesUsed: row.gpu_minutes_used as number,
  };
}
