import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '@concentra/domain';
import type { EventStore, NewEvent } from '@concentra/persistence';
import type {
  ChangeGrantInput,
  ChangeGrantResult,
  GpuAllocationView,
  GpuRefusal,
  GpuRefusalReason,
  MeterUsageInput,
  MeterUsageResult,
  ProvisionGrantInput,
  ProvisionGrantResult,
  RefusalCapacity,
  ReleaseGrantInput,
  ReleaseGrantResult,
  UsageMode,
} from './gpu.activities';
import { covers, describeRow, heldOn, lessorExclusion, lessorMessage, policyHistory, readPolicy, writePolicy, type StoredPolicy } from './gpu-ledger.capacity';
import { meterUsage } from './gpu-ledger.metering';
import {
  GPU_POOL_STREAM,
  LIVE,
  gpuError,
  gpuStreamId,
  isoWindow,
  keyConflict,
  lockGrant,
  normalizeRequest,
  operationByKey,
  outbox,
  rowsOf,
  sameInstant,
  sha256,
  toCapacity,
  toView,
  txNow,
  validateKeyAndGrant,
  type CapacityInput,
  type CapacityView,
  type Row,
} from './gpu-ledger.rows';
import { alternativesFor, normalizeGpuType, requestProblem } from './policy';
import type { GpuProviders, ProviderAccountSpec } from './providers/gpu-provider';

/** A grant with no funded end (or provisioned after it) plans two years; it holds until released anyway. */
const DEFAULT_PLAN_MS = 2 * 365 * 24 * 3600 * 1000;

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

/**
 * The national GPU pool in PostgreSQL. An allocation holds its GPUs from reservation until it is
 * released (its window is the plan: extensions and later rounds move it). Capacity rows are locked
 * (`SELECT ... FOR UPDATE`, in id order) by every transaction that reserves or grows an allocation on
 * them, so concurrent requests queue on the rows they compete for and never over-commit. Every state
 * change writes its domain events to an outbox in the same transaction; they reach the event store
 * right after, and again on any retry until they are in.
 *
 * Parts: capacity and policy (`gpu-ledger.capacity.ts`), allocation (here: provision, change,
 * release), metering (`gpu-ledger.metering.ts`), row mapping and plumbing (`gpu-ledger.rows.ts`).
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

  async policy(tx: EntityManager | DataSource = this.db): Promise<StoredPolicy> {
    return readPolicy(tx);
  }

  /** The current policy and every version's author and time (`GET /v1/gpu/policy`). */
  async policyWithHistory(): Promise<StoredPolicy & { history: Omit<StoredPolicy, 'policy'>[] }> {
    return { ...(await readPolicy(this.db)), history: await policyHistory(this.db) };
  }

  /**
   * Stores a new policy version (rates, lessor rule, reallocation, thresholds, throttle); the same
   * document as the latest is no new version. Allocations keep the version they were decided under.
   */
  async setPolicy(
    document: unknown,
    actor: string | { role: string; subject: string },
    options: { basedOnVersion?: number } = {},
  ): Promise<StoredPolicy & { changed: boolean }> {
    const who = typeof actor === 'string' ? { role: 'system', subject: actor } : actor;
    const stored = await this.db.transaction((tx) => writePolicy(tx, document, who, options.basedOnVersion));
    await this.flush(GPU_POOL_STREAM);
    return stored;
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
      await outbox(tx, GPU_POOL_STREAM, `gpu-capacity:${id}:registered`, 'GpuCapacityRegistered', { capacityId: id, ...data }, { actor }, row.registered_at as Date);
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
    const planned = input.window?.to ? new Date(input.window.to) : null;
    if (Number.isNaN(from.getTime()) || (planned && Number.isNaN(planned.getTime()))) throw gpuError('validation_failed', 'window.from and window.to are instants (to may be null)', 'window');
    // Decided here, from the input alone (so a retry hashes the same), not in workflow code.
    const to = planned && planned > from ? planned : new Date(from.getTime() + DEFAULT_PLAN_MS);
    if (input.gpuMinutes !== undefined && !(input.gpuMinutes >= 0)) throw gpuError('validation_failed', 'must be a non-negative number', 'gpuMinutes');
    const firstCount = 'alternatives' in input.request ? input.request.alternatives[0].count : input.request.equivalentTo.count;
    if (input.acceptPartial !== undefined && !(Number.isInteger(input.acceptPartial.atLeast) && input.acceptPartial.atLeast > 0 && input.acceptPartial.atLeast <= firstCount)) {
      throw gpuError('validation_failed', `a positive integer, at most the ${firstCount} asked`, 'acceptPartial.atLeast');
    }
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
      const { version, policy } = await readPolicy(tx);
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

      const refuse = async (reason: GpuRefusalReason, message: string, detail: Omit<GpuRefusal, 'reason' | 'message'>) => {
        const full = { ...detail, policyVersion: version };
        const [row] = rowsOf(await tx.query(
          `UPDATE gpu_allocations SET status = 'refused', refusal_reason = $2, refusal_message = $3, refusal_detail = $4, refused_at = $5, updated_at = $5 WHERE id = $1 RETURNING *`,
          [id, reason, message, full, now],
        )) as Row[];
        await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuRequestRefused`, 'GpuRequestRefused', {
          allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, window: isoWindow(row), reason, message, ...full,
        }, { idempotencyKey: input.idempotencyKey }, now);
        return row;
      };

      const exclusion = lessorExclusion(policy, input.organisationId, locked, from, to);
      if (exclusion) {
        const leases = await Promise.all(exclusion.leases.map(async (c) => describeRow(c, await heldOn(tx, c.id), 'leased_by_requester')));
        return refuse('lessor_conflict', lessorMessage(exclusion, input.organisationId, version), { rule: exclusion.rule, capacity: leases, retryable: false });
      }

      const considered: RefusalCapacity[] = [];
      const partial: { c: CapacityView; alt: (typeof alternatives)[number]; count: number; units: number }[] = [];
      for (const alt of alternatives) {
        const fits: { c: CapacityView; free: number }[] = [];
        for (const c of locked.filter((r) => r.gpuType === alt.type)) {
          const held = await heldOn(tx, c.id);
          const free = c.count - held;
          if (!covers(c, from, to)) considered.push(describeRow(c, held, 'not_available'));
          else if (free >= alt.count) fits.push({ c, free });
          else {
            considered.push(describeRow(c, held, 'full'));
            if (free > 0) partial.push({ c, alt, count: free, units: free * alt.rate });
          }
        }
        if (fits.length === 0) continue;
        fits.sort((a, b) => Number(b.c.site === input.preferSite) - Number(a.c.site === input.preferSite) || a.free - b.free || a.c.id.localeCompare(b.c.id));
        return this.reserveOn(tx, input, id, request, version, now, fits[0].c, alt, alt.count, alternatives[0]);
      }
      if (input.acceptPartial) {
        // Nothing serves the whole request: the row that gives the most (in units of the first
        // alternative) serves what it has, if that is at least the floor the caller accepts.
        partial.sort((a, b) => b.units - a.units || Number(b.c.site === input.preferSite) - Number(a.c.site === input.preferSite) || a.c.id.localeCompare(b.c.id));
        const best = partial[0];
        if (best && best.units >= input.acceptPartial.atLeast - 1e-9) {
          return this.reserveOn(tx, input, id, request, version, now, best.c, best.alt, best.count, alternatives[0]);
        }
      }
      if (!locked.some((c) => types.includes(c.gpuType))) {
        return refuse('unknown_gpu_type', `the pool has no capacity of type ${types.join(' or ')}`, { rule: 'type', capacity: [], retryable: false });
      }
      const rows = considered.map((r) => `${r.capacityId} (${r.why === 'full' ? `${r.held} of ${r.count} ${r.gpuType} held` : `available ${r.availableFrom.slice(0, 10)} to ${r.availableUntil?.slice(0, 10) ?? 'open'}`})`).join(', ');
      return refuse(
        'insufficient_capacity',
        `no capacity row has ${alternatives.map((a) => `${a.count} ${a.type}`).join(' or ')} free for ${from.toISOString()} to ${to.toISOString()}` +
          `${input.acceptPartial ? ` (nor ${input.acceptPartial.atLeast} as a partial grant)` : ''}; GPUs are held from reservation until release: ${rows}`,
        { rule: 'capacity', capacity: considered.slice(0, 50), retryable: true },
      );
    });
  }

  private async reserveOn(
    tx: EntityManager,
    input: ProvisionGrantInput,
    id: string,
    request: unknown,
    version: number,
    now: Date,
    chosen: CapacityView,
    alt: ReturnType<typeof alternativesFor>[number],
    count: number,
    first: ReturnType<typeof alternativesFor>[number],
  ): Promise<Row> {
    // The budget is per GPU of the first alternative's type, scaled to the GPUs served.
    const gpuMinutes = input.gpuMinutes === undefined ? null : (input.gpuMinutes * count) / first.count;
    const account = this.providers.get(chosen.provider).accountName(id);
    const [row] = rowsOf(await tx.query(
      `UPDATE gpu_allocations SET status = 'reserved', capacity_id = $2, site = $3, cluster = $4, provider = $5, gpu_type = $6, count = $7, rate = $8,
         gpu_minutes = $9, account = $10, asked_count = $11, reserved_at = $12, updated_at = $12 WHERE id = $1 RETURNING *`,
      [id, chosen.id, chosen.site, chosen.cluster, chosen.provider, alt.type, count, alt.rate, gpuMinutes, account, alt.count, now],
    )) as Row[];
    const v = toView(row);
    await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpusReserved`, 'GpusReserved', {
      allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, served: v.served, window: v.window,
      gpuMinutes: v.gpuMinutes, account: v.account, servedAsRequested: alt.type === first.type, shortfall: v.shortfall, policyVersion: version,
    }, { idempotencyKey: input.idempotencyKey }, now);
    return row;
  }

  private async activate(id: string): Promise<Row> {
    return this.db.transaction(async (tx) => {
      const [current] = (await tx.query('SELECT * FROM gpu_allocations WHERE id = $1 FOR UPDATE', [id])) as Row[];
      if (current.status !== 'reserved') return current; // released meanwhile, or activated by a concurrent retry
      const now = await txNow(tx);
      const [row] = rowsOf(await tx.query(`UPDATE gpu_allocations SET status = 'active', activated_at = $2, updated_at = $2 WHERE id = $1 RETURNING *`, [id, now])) as Row[];
      const v = toView(row);
      await outbox(tx, gpuStreamId(v.grantId), `${row.idempotency_key as string}:GpusAllocated`, 'GpusAllocated', {
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
      const op = await operationByKey(tx, input.idempotencyKey, input.grantId, 'change', inputHash);
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

      const extends_ = windowTo > new Date(current.window.to);
      const raises = count > (alloc.count as number);
      if (extends_ || raises) {
        const [cap] = ((await tx.query('SELECT * FROM gpu_capacity WHERE id = $1 FOR UPDATE', [alloc.capacity_id])) as Row[]).map(toCapacity);
        const from = new Date(current.window.from);
        const { version, policy } = await readPolicy(tx);
        const othersHeld = await heldOn(tx, cap.id, alloc.id as string);
        let refusal: GpuRefusal | null = null;
        if (extends_) {
          const leases = ((await tx.query('SELECT * FROM gpu_capacity WHERE lessor_organisation_id = $1 ORDER BY id', [alloc.organisation_id])) as Row[]).map(toCapacity);
          const exclusion = lessorExclusion(policy, alloc.organisation_id as string, leases, from, windowTo);
          if (exclusion) {
            refusal = {
              reason: 'lessor_conflict', message: lessorMessage(exclusion, alloc.organisation_id as string, version), rule: exclusion.rule,
              capacity: await Promise.all(exclusion.leases.map(async (l) => describeRow(l, await heldOn(tx, l.id), 'leased_by_requester'))), retryable: false,
            };
          }
        }
        if (!refusal && !covers(cap, from, windowTo)) {
          refusal = {
            reason: 'insufficient_capacity', message: `capacity ${cap.id} is available only until ${cap.availableUntil}, ${windowTo.toISOString()} asked`,
            rule: 'capacity', capacity: [describeRow(cap, othersHeld + (alloc.count as number), 'not_available')], retryable: false,
          };
        }
        if (!refusal && othersHeld + count > cap.count) {
          refusal = {
            reason: 'insufficient_capacity',
            message: `capacity ${cap.id} has ${cap.count - othersHeld} ${cap.gpuType} not held by others (they hold ${othersHeld} of ${cap.count} until released), ${count} asked`,
            rule: 'capacity', capacity: [describeRow(cap, othersHeld + (alloc.count as number), 'full')], retryable: true,
          };
        }
        if (refusal) {
          refusal.policyVersion = version;
          const result: ChangeGrantResult = { outcome: 'refused', allocation: current, refusal };
          await tx.query(
            `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, 'change', $3, $4, 'done', $5, $6, $6)`,
            [input.idempotencyKey, input.grantId, inputHash, alloc.id, result, now],
          );
          await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuChangeRefused`, 'GpuChangeRefused', {
            allocationId: alloc.id, grantId: input.grantId, extendTo: windowTo.toISOString(), gpus: count, ...refusal,
          }, { idempotencyKey: input.idempotencyKey }, now);
          return { done: result };
        }
      }
      await tx.query(
        `UPDATE gpu_allocations SET window_to = $2, count = $3, gpu_minutes = $4, mode = $5, updated_at = $6,
           asked_count = CASE WHEN $7::boolean THEN $3 ELSE asked_count END WHERE id = $1`,
        [alloc.id, windowTo, count, gpuMinutes, mode, now, input.limits?.gpus !== undefined],
      );
      await tx.query(
        `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, target, started_at) VALUES ($1, $2, 'change', $3, $4, 'started', $5, $6)`,
        [input.idempotencyKey, input.grantId, inputHash, alloc.id, { windowTo: windowTo.toISOString(), count, gpuMinutes, mode }, now],
      );
      await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuAllocationChanged`, 'GpuAllocationChanged', {
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
      const op = await operationByKey(tx, input.idempotencyKey, input.grantId, 'release', inputHash);
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
          reallocation: (await readPolicy(tx)).policy.reallocation,
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
      const finished = await operationByKey(tx, input.idempotencyKey, input.grantId, 'release', inputHash);
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
        await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpusReleased`, 'GpusReleased', {
          allocationId: current.id, grantId: input.grantId, organisationId: current.organisation_id, reason: input.reason,
          freed: current.capacity_id ? { type: current.gpu_type, count: current.count, site: current.site, capacityId: current.capacity_id } : null,
          gpuMinutesUsed: usedMinutes, account: current.account,
        }, { idempotencyKey: input.idempotencyKey }, now);
      }
      const r: ReleaseGrantResult = {
        reallocation: (await readPolicy(tx)).policy.reallocation,
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

  meter(input: MeterUsageInput): Promise<MeterUsageResult> {
    return meterUsage({ db: this.db, providers: this.providers, clock: this.clock, flush: (s) => this.flush(s) }, input);
  }

  async describe(grantId: string): Promise<GpuAllocationView | null> {
    const [row] = (await this.db.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [grantId])) as Row[];
    return row ? toView(row) : null;
  }

  // ------------------------------------------------------------------------------------------
  // plumbing

  private async accountSpec(row: Row): Promise<ProviderAccountSpec> {
    const { policy } = await readPolicy(this.db);
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

  private async finishOperation(key: string, result: unknown): Promise<void> {
    await this.db.query(`UPDATE gpu_operations SET status = 'done', result = $2, finished_at = now() WHERE idempotency_key = $1 AND status = 'started'`, [key, result]);
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
