import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '@concentra/domain';
import type { EventStore } from '@concentra/persistence';
import type {
  ChangeGrantInput,
  ChangeGrantResult,
  GpuAllocationView,
  MeterUsageInput,
  MeterUsageResult,
  ProvisionGrantInput,
  ProvisionGrantResult,
  ReleaseGrantInput,
  ReleaseGrantResult,
  UsageMode,
} from './gpu.activities';
import { heldOn, policyHistory, readPolicy, writePolicy, type StoredPolicy } from './gpu-ledger.capacity';
import { checkCapacity, checkChange, checkProvision, normalizeRequest, plannedWindowEnd, validateKeyAndGrant } from './gpu-ledger.inputs';
import { meterUsage } from './gpu-ledger.metering';
import { flushOutbox, outbox } from './gpu-ledger.outbox';
import * as repo from './gpu-ledger.repository';
import { GPU_POOL_STREAM, gpuError, gpuStreamId, isoWindow, keyConflict, lockGrant, operationByKey, sameInstant, sha256, toCapacity, toView, txNow, type Row } from './gpu-ledger.rows';
import { alternativesFor, chooseCapacity, growthRefusal, type Alternative, type CapacityInput, type CapacityView } from './policy';
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

/**
 * The national GPU pool in PostgreSQL. An allocation holds its GPUs from reservation until it is
 * released (its window is the plan: extensions and later rounds move it). Capacity rows are locked
 * (`SELECT ... FOR UPDATE`, in id order) by every transaction that reserves or grows an allocation on
 * them, so concurrent requests queue on the rows they compete for and never over-commit. Every state
 * change writes its domain events to an outbox in the same transaction; they reach the event store
 * right after, and again on any retry until they are in.
 *
 * This class is the orchestration: provision (record intent → ensure the provider account → record
 * active), change, release, metering. Its parts: the input checks (`gpu-ledger.inputs.ts`), the pure
 * capacity choice and lessor rule (`policy.ts`), the SQL (`gpu-ledger.repository.ts`, row mapping in
 * `gpu-ledger.rows.ts`), the stored policy (`gpu-ledger.capacity.ts`), the outbox
 * (`gpu-ledger.outbox.ts`) and metering (`gpu-ledger.metering.ts`).
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
    const c = checkCapacity(input);
    this.providers.get(c.provider);
    const id = c.id ?? `cap_${randomUUID()}`;
    const view = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`gpu-capacity:${id}`]);
      const v = await repo.capacityById(tx, id);
      if (v) {
        const same =
          v.site === c.site && v.cluster === c.cluster && v.provider === c.provider && v.gpuType === c.gpuType && v.count === c.count &&
          v.ownership === c.ownership && v.lessorOrganisationId === c.lessorOrganisationId &&
          sameInstant(v.availableFrom, c.availableFrom) && sameInstant(v.availableUntil, c.availableUntil);
        if (!same) throw gpuError('conflict', `capacity '${id}' is already registered with different content`, 'id');
        return v;
      }
      const row = await repo.insertCapacity(tx, id, { ...c, id }, actor.subject);
      const registered = toCapacity(row);
      const { id: _id, registeredAt: _at, registeredBy: _by, ...data } = registered;
      await outbox(tx, GPU_POOL_STREAM, `gpu-capacity:${id}:registered`, 'GpuCapacityRegistered', { capacityId: id, ...data }, { actor }, row.registered_at as Date);
      return registered;
    });
    await this.flush(GPU_POOL_STREAM);
    return view;
  }

  async capacity(): Promise<CapacityView[]> {
    return repo.allCapacity(this.db);
  }

  // ------------------------------------------------------------------------------------------
  // provisioning: record intent → ensure the provider account → record active

  async provision(input: ProvisionGrantInput): Promise<ProvisionGrantResult> {
    const { from, to } = checkProvision(input);
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

  /** Records the request, then the choice made under the rows' locks: reserved on a row, or refused. */
  private async reserve(input: ProvisionGrantInput, inputHash: string, from: Date, to: Date): Promise<Row> {
    return this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const existing = await repo.allocationByKey(tx, input.idempotencyKey);
      if (existing) {
        if ((existing.input_hash as string).trim() !== inputHash || existing.grant_id !== input.grantId) throw keyConflict(input.idempotencyKey);
        return existing;
      }
      const live = await repo.liveAllocation(tx, input.grantId, true);
      if (live) {
        throw gpuError('conflict', `grant ${input.grantId} already holds allocation ${live.id as string} (provisioned with key ${live.idempotency_key as string})`, 'grantId');
      }
      const { version, policy } = await readPolicy(tx);
      const now = await txNow(tx);
      const id = `alloc_${sha256(input.idempotencyKey).slice(0, 24)}`;
      const request = normalizeRequest(input.request);
      await repo.insertRequested(tx, {
        id, idempotencyKey: input.idempotencyKey, inputHash, grantId: input.grantId, organisationId: input.organisationId, request, policyVersion: version, from, to, users: input.users ?? [], now,
      });

      const alternatives = alternativesFor(input.request, policy);
      // The rows this decision depends on, locked in one order by every writer: the candidate
      // capacity, and the capacity the requesting organisation leases to the pool.
      const rows = await repo.lockCapacityFor(tx, [...new Set(alternatives.map((a) => a.type))], input.organisationId);
      const choice = chooseCapacity({ policy, policyVersion: version, organisationId: input.organisationId, alternatives, rows, from, to, preferSite: input.preferSite, acceptPartial: input.acceptPartial });
      if ('serve' in choice) return this.reserveOn(tx, input, id, request, version, now, choice.serve, choice.alternative, choice.count, alternatives[0]);

      const { reason, message, ...detail } = choice.refuse;
      const full = { ...detail, policyVersion: version };
      const row = await repo.markRefused(tx, id, reason, message, full, now);
      await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuRequestRefused`, 'GpuRequestRefused', {
        allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, window: isoWindow(row), reason, message, ...full,
      }, { idempotencyKey: input.idempotencyKey }, now);
      return row;
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
    alt: Alternative,
    count: number,
    first: Alternative,
  ): Promise<Row> {
    // The budget is per GPU of the first alternative's type, scaled to the GPUs served.
    const gpuMinutes = input.gpuMinutes === undefined ? null : (input.gpuMinutes * count) / first.count;
    const account = this.providers.get(chosen.provider).accountName(id);
    const row = await repo.markReserved(tx, id, { capacity: chosen, gpuType: alt.type, count, rate: alt.rate, gpuMinutes, account, askedCount: alt.count }, now);
    const v = toView(row);
    await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpusReserved`, 'GpusReserved', {
      allocationId: id, grantId: input.grantId, organisationId: input.organisationId, request, served: v.served, window: v.window,
      gpuMinutes: v.gpuMinutes, account: v.account, servedAsRequested: alt.type === first.type, shortfall: v.shortfall, policyVersion: version,
    }, { idempotencyKey: input.idempotencyKey }, now);
    return row;
  }

  private async activate(id: string): Promise<Row> {
    return this.db.transaction(async (tx) => {
      const current = await repo.allocationById(tx, id, true);
      if (current.status !== 'reserved') return current; // released meanwhile, or activated by a concurrent retry
      const now = await txNow(tx);
      const row = await repo.markActive(tx, id, now);
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
    checkChange(input);
    const { idempotencyKey: _k, ...rest } = input;
    const inputHash = sha256(canonicalJson({ ...rest, extendTo: input.extendTo && new Date(input.extendTo).toISOString() }));

    const step = await this.db.transaction(async (tx) => {
      await lockGrant(tx, input.grantId);
      const op = await operationByKey(tx, input.idempotencyKey, input.grantId, 'change', inputHash);
      if (op?.status === 'done') return { done: op.result as ChangeGrantResult };
      const alloc = await repo.liveAllocation(tx, input.grantId, false);
      if (op) return { allocationId: op.allocation_id as string, alloc };
      if (!alloc) throw gpuError('invalid_state', `grant ${input.grantId} holds no live allocation to change`, 'grantId');
      const now = await txNow(tx);
      const current = toView(alloc);
      const windowTo = input.extendTo ? plannedWindowEnd(new Date(current.window.from), new Date(input.extendTo)) : new Date(current.window.to);
      const count = input.limits?.gpus ?? (alloc.count as number);
      const gpuMinutes = input.limits && 'gpuMinutes' in input.limits ? (input.limits.gpuMinutes ?? null) : current.gpuMinutes;
      const mode = input.mode ?? current.mode;
      const operation: repo.Operation = { idempotencyKey: input.idempotencyKey, grantId: input.grantId, kind: 'change', inputHash, allocationId: alloc.id, now };

      const extendsWindow = windowTo > new Date(current.window.to);
      if (extendsWindow || count > (alloc.count as number)) {
        const row = await repo.lockCapacityRow(tx, alloc.capacity_id as string);
        const { version, policy } = await readPolicy(tx);
        const othersHeld = await heldOn(tx, row.id, alloc.id as string);
        const leases = extendsWindow ? await repo.leasesOf(tx, alloc.organisation_id as string) : [];
        const refusal = growthRefusal({
          policy, policyVersion: version, organisationId: alloc.organisation_id as string, leases, row, othersHeld, holds: alloc.count as number, count, from: new Date(current.window.from), to: windowTo, extendsWindow,
        });
        if (refusal) {
          refusal.policyVersion = version;
          const result: ChangeGrantResult = { outcome: 'refused', allocation: current, refusal };
          await repo.recordDone(tx, operation, result);
          await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuChangeRefused`, 'GpuChangeRefused', {
            allocationId: alloc.id, grantId: input.grantId, extendTo: windowTo.toISOString(), gpus: count, ...refusal,
          }, { idempotencyKey: input.idempotencyKey }, now);
          return { done: result };
        }
      }
      await repo.updateLimits(tx, alloc.id as string, { windowTo, count, gpuMinutes, mode }, input.limits?.gpus !== undefined, now);
      await repo.recordStarted(tx, operation, { windowTo: windowTo.toISOString(), count, gpuMinutes, mode });
      await outbox(tx, gpuStreamId(input.grantId), `${input.idempotencyKey}:GpuAllocationChanged`, 'GpuAllocationChanged', {
        allocationId: alloc.id, grantId: input.grantId,
        before: { windowTo: current.window.to, gpus: current.served?.count ?? null, gpuMinutes: current.gpuMinutes, mode: current.mode },
        after: { windowTo: windowTo.toISOString(), gpus: count, gpuMinutes, mode },
      }, { idempotencyKey: input.idempotencyKey }, now);
      return { allocationId: alloc.id as string, alloc: await repo.allocationById(tx, alloc.id as string) };
    });
    await this.flush(gpuStreamId(input.grantId));
    if ('done' in step) return step.done as ChangeGrantResult;

    const alloc = await repo.allocationById(this.db, step.allocationId);
    if (alloc.status === 'reserved' || alloc.status === 'active') {
      await this.providers.get(alloc.provider as string).changeLimits(await this.accountSpec(alloc));
    }
    const result: ChangeGrantResult = { outcome: 'changed', allocation: toView(alloc) };
    await repo.finishOperation(this.db, input.idempotencyKey, result);
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
      const alloc = await repo.liveAllocation(tx, input.grantId, true);
      const now = await txNow(tx);
      const operation = { idempotencyKey: input.idempotencyKey, grantId: input.grantId, kind: 'release' as const, inputHash, now };
      if (!alloc) {
        const last = await repo.latestAllocation(tx, input.grantId);
        const result: ReleaseGrantResult = {
          released: false,
          allocationId: (last?.id as string) ?? null,
          gpuMinutesUsed: (last?.gpu_minutes_used as number) ?? 0,
          freed: null,
          reallocation: (await readPolicy(tx)).policy.reallocation,
        };
        await repo.recordDone(tx, { ...operation, allocationId: last?.id ?? null }, result);
        return { done: result };
      }
      await repo.recordStarted(tx, { ...operation, allocationId: alloc.id });
      return { allocationId: alloc.id as string };
    });
    if ('done' in step) {
      await this.flush(gpuStreamId(input.grantId));
      return step.done as ReleaseGrantResult;
    }

    const alloc = await repo.allocationById(this.db, step.allocationId as string);
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
      const current = await repo.allocationById(tx, step.allocationId as string, true);
      const now = await txNow(tx);
      let released = false;
      if (current.status !== 'released' && current.status !== 'refused') {
        await repo.markReleased(tx, current.id as string, input.reason, usedMinutes, now);
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
      await repo.finishOperationAt(tx, input.idempotencyKey, r, now);
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
    const row = await repo.latestAllocation(this.db, grantId);
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

  /** Appends the stream's pending outbox events to the event store (idempotent by event id). */
  async flush(streamId: string): Promise<void> {
    await flushOutbox(this.db, this.events, streamId);
  }
}
