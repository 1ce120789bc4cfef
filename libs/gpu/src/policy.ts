import { z } from 'zod';
import type { GpuAmount, GpuRefusal, GpuRequest, RefusalCapacity, UsageThreshold } from './gpu.activities';

/**
 * The pool's rules as pure functions: the policy document, the alternatives a request may be served
 * by, which capacity row serves it (or why none does), the lessor rule and the usage thresholds.
 * The ledger reads the rows under their locks and writes the outcome; every choice is made here.
 */

/**
 * The pool policy: versioned data in `gpu_pool_policies`, never code. An allocation records the
 * version it was decided under.
 */
export const GpuPoolPolicySchema = z.strictObject({
  /** Equivalence rates in a common unit: `{ H100: 1, B200: 2 }` says 1 B200 counts as 2 H100. */
  rates: z.record(z.string().regex(/^[A-Z0-9][A-Z0-9._-]*$/, 'GPU types are upper-case'), z.number().positive()),
  /**
   * The lessor rule, for organisations that lease capacity to the pool (decided from the capacity
   * register alone, so the order in which grants provision never changes an outcome, and a lessor's
   * exclusion never withholds capacity from anyone else):
   * - `lessors_receive_none`: an organisation with a lease in the pool that has not ended before the
   *   request starts receives no GPU support;
   * - `exclude_while_in_use`: an organisation receives no GPU support for a window in which its lease
   *   runs (its capacity is in the pool's use); outside its lease it is served like anyone;
   * - `allow`: lessors are served like anyone.
   */
  lessorConflict: z.enum(['lessors_receive_none', 'exclude_while_in_use', 'allow']),
  /** Released capacity goes back to the pool; `to_remaining_grants` tells the engine to offer it to the remaining grants. */
  reallocation: z.enum(['to_pool', 'to_remaining_grants']),
  thresholds: z
    .array(z.strictObject({ atFraction: z.number().positive().max(10), action: z.enum(['warn', 'throttle', 'suspend']) }))
    .default([]),
  /** A throttled grant may hold this fraction of its GPUs (Slurm: through a QOS of its own). `qos` is informational. */
  throttle: z.strictObject({ gpuFraction: z.number().positive().max(1), qos: z.string().min(1).optional() }),
});
export type GpuPoolPolicy = z.infer<typeof GpuPoolPolicySchema>;
export type LessorRule = GpuPoolPolicy['lessorConflict'];

export const normalizeGpuType = (type: string): string => type.trim().toUpperCase();

/** One concrete way to serve a request: this many GPUs of this type. */
export interface Alternative extends GpuAmount {
  /** Units of the first requested type one GPU of this alternative counts as. */
  rate: number;
}

/**
 * The alternatives a request may be served by, in order of preference. Explicit alternatives
 * come as given; an `equivalentTo` request becomes its own type first, then every other accepted
 * type at the policy rate (rounded up: the grant never receives less than it was promised).
 */
export function alternativesFor(request: GpuRequest, policy: GpuPoolPolicy): Alternative[] {
  if ('alternatives' in request) {
    const list = request.alternatives.map((a) => ({ type: normalizeGpuType(a.type), count: a.count }));
    const first = list[0];
    return list.map((a) => ({ ...a, rate: first.count / a.count }));
  }
  const base = { type: normalizeGpuType(request.equivalentTo.type), count: request.equivalentTo.count };
  const baseRate = policy.rates[base.type];
  const accepted = (request.acceptTypes ?? Object.keys(policy.rates)).map(normalizeGpuType);
  const out: Alternative[] = [{ ...base, rate: 1 }];
  if (baseRate === undefined) return out;
  for (const type of accepted) {
    const rate = policy.rates[type];
    if (type === base.type || rate === undefined) continue;
    const count = Math.ceil((base.count * baseRate) / rate - 1e-9);
    out.push({ type, count, rate: rate / baseRate });
  }
  return out;
}

/** Validates a request's shape; returns a reason when it cannot be served by any pool. */
export function requestProblem(request: GpuRequest): string | undefined {
  const amounts = 'alternatives' in request ? request.alternatives : request && 'equivalentTo' in request ? [request.equivalentTo] : undefined;
  if (!amounts || amounts.length === 0) return 'a request needs alternatives or an equivalentTo amount';
  for (const a of amounts) {
    if (!a || typeof a.type !== 'string' || a.type.trim() === '') return 'every amount needs a GPU type';
    if (!Number.isInteger(a.count) || a.count <= 0) return `the count for ${a.type} must be a positive integer`;
  }
  return undefined;
}

/** Thresholds crossed at a fraction, strongest action last. */
export function crossedThresholds(fraction: number | null, thresholds: UsageThreshold[]): UsageThreshold[] {
  if (fraction === null) return [];
  return [...thresholds].filter((t) => fraction >= t.atFraction - 1e-9).sort((a, b) => a.atFraction - b.atFraction);
}

const STRENGTH = { none: 0, warn: 1, throttle: 2, suspend: 3 } as const;

export function strongestAction(thresholds: UsageThreshold[]): UsageThreshold['action'] | 'none' {
  return thresholds.reduce<UsageThreshold['action'] | 'none'>((acc, t) => (STRENGTH[t.action] > STRENGTH[acc] ? t.action : acc), 'none');
}

/** Capacity registered in the pool, as the API takes it. */
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

/** Registered capacity: the input with its id, lessor and end settled, and who registered it when. */
export interface CapacityView extends Required<Omit<CapacityInput, 'lessorOrganisationId' | 'availableUntil'>> {
  lessorOrganisationId: string | null;
  availableUntil: string | null;
  registeredAt: string;
  registeredBy: string;
}

/** The row exists for the whole planned window (owned capacity has arrived, a lease still runs at its end). */
export function covers(c: CapacityView, from: Date, to: Date): boolean {
  return new Date(c.availableFrom) <= from && (c.availableUntil === null || new Date(c.availableUntil) >= to);
}

export function describeRow(c: CapacityView, held: number, why: RefusalCapacity['why']): RefusalCapacity {
  return {
    capacityId: c.id,
    site: c.site,
    gpuType: c.gpuType,
    count: c.count,
    held,
    free: Math.max(0, c.count - held),
    lessorOrganisationId: c.lessorOrganisationId,
    availableFrom: c.availableFrom,
    availableUntil: c.availableUntil,
    why,
  };
}

export interface LessorExclusion {
  rule: 'lessors_receive_none' | 'exclude_while_in_use';
  leases: CapacityView[];
}

/**
 * Whether the pool policy's lessor rule excludes an organisation from GPU support for [from, to).
 * It reads the capacity register only (the organisation's leases), never who happens to hold what,
 * so it gives the same answer whichever grant provisions first; and it excludes the lessor, never
 * its capacity, which stays in the pool for everyone else.
 */
export function lessorExclusion(policy: GpuPoolPolicy, organisationId: string, capacity: CapacityView[], from: Date, to: Date): LessorExclusion | null {
  const leases = capacity.filter((c) => c.ownership === 'leased' && c.lessorOrganisationId === organisationId);
  const notEndedBy = (c: CapacityView, t: Date) => c.availableUntil === null || new Date(c.availableUntil) > t;
  if (policy.lessorConflict === 'lessors_receive_none') {
    const current = leases.filter((c) => notEndedBy(c, from));
    return current.length > 0 ? { rule: 'lessors_receive_none', leases: current } : null;
  }
  if (policy.lessorConflict === 'exclude_while_in_use') {
    const running = leases.filter((c) => new Date(c.availableFrom) < to && notEndedBy(c, from));
    return running.length > 0 ? { rule: 'exclude_while_in_use', leases: running } : null;
  }
  return null;
}

export function lessorMessage(exclusion: LessorExclusion, organisationId: string, policyVersion: number): string {
  const leases = exclusion.leases
    .map((c) => `${c.id}: ${c.count} ${c.gpuType} at ${c.site}, ${c.availableFrom.slice(0, 10)} to ${c.availableUntil?.slice(0, 10) ?? 'open'}`)
    .join('; ');
  const rule =
    exclusion.rule === 'lessors_receive_none'
      ? 'teams that lease GPUs to the pool receive no GPU support'
      : 'a team receives no GPU support while the capacity it leases to the pool is in use';
  return `lessor rule ${exclusion.rule} (pool policy version ${policyVersion}): ${rule}; ${organisationId} leases ${leases}. Its capacity stays in the pool for the other teams.`;
}

/** A capacity row and the GPUs live allocations hold on it (read under the row's lock). */
export interface RowHolding {
  row: CapacityView;
  held: number;
}

export type ReservationChoice =
  | { serve: CapacityView; alternative: Alternative; count: number }
  | { refuse: Omit<GpuRefusal, 'policyVersion'> };

export interface ReservationAsk {
  policy: GpuPoolPolicy;
  policyVersion: number;
  organisationId: string;
  alternatives: Alternative[];
  /** The locked rows: every row of an alternative's type and every row the organisation leases, in id order. */
  rows: RowHolding[];
  from: Date;
  to: Date;
  preferSite?: string;
  acceptPartial?: { atLeast: number };
}

/**
 * Which row serves a request for [from, to), or why none does. The lessor rule first; then the
 * first alternative some row can serve whole, on a row at the preferred site, else the tightest fit
 * (least free), else the lowest id. When nothing serves the whole request and the caller accepts a
 * partial grant, the row that gives the most (in units of the first alternative) serves what it
 * has, if that reaches the floor. Otherwise a refusal naming every row considered.
 */
export function chooseCapacity(ask: ReservationAsk): ReservationChoice {
  const { alternatives, from, to, preferSite } = ask;
  const exclusion = lessorExclusion(ask.policy, ask.organisationId, ask.rows.map((r) => r.row), from, to);
  if (exclusion) {
    const heldOn = new Map(ask.rows.map((r) => [r.row.id, r.held]));
    const leases = exclusion.leases.map((c) => describeRow(c, heldOn.get(c.id) ?? 0, 'leased_by_requester'));
    return { refuse: { reason: 'lessor_conflict', message: lessorMessage(exclusion, ask.organisationId, ask.policyVersion), rule: exclusion.rule, capacity: leases, retryable: false } };
  }
  const atPreferred = (c: CapacityView) => Number(c.site === preferSite);
  const considered: RefusalCapacity[] = [];
  const partial: { c: CapacityView; alt: Alternative; count: number; units: number }[] = [];
  for (const alt of alternatives) {
    const fits: { c: CapacityView; free: number }[] = [];
    for (const { row: c, held } of ask.rows.filter((r) => r.row.gpuType === alt.type)) {
      const free = c.count - held;
      if (!covers(c, from, to)) considered.push(describeRow(c, held, 'not_available'));
      else if (free >= alt.count) fits.push({ c, free });
      else {
        considered.push(describeRow(c, held, 'full'));
        if (free > 0) partial.push({ c, alt, count: free, units: free * alt.rate });
      }
    }
    if (fits.length === 0) continue;
    fits.sort((a, b) => atPreferred(b.c) - atPreferred(a.c) || a.free - b.free || a.c.id.localeCompare(b.c.id));
    return { serve: fits[0].c, alternative: alt, count: alt.count };
  }
  if (ask.acceptPartial) {
    partial.sort((a, b) => b.units - a.units || atPreferred(b.c) - atPreferred(a.c) || a.c.id.localeCompare(b.c.id));
    const best = partial[0];
    if (best && best.units >= ask.acceptPartial.atLeast - 1e-9) return { serve: best.c, alternative: best.alt, count: best.count };
  }
  const types = [...new Set(alternatives.map((a) => a.type))];
  if (!ask.rows.some((r) => types.includes(r.row.gpuType))) {
    return { refuse: { reason: 'unknown_gpu_type', message: `the pool has no capacity of type ${types.join(' or ')}`, rule: 'type', capacity: [], retryable: false } };
  }
  const rows = considered.map((r) => `${r.capacityId} (${r.why === 'full' ? `${r.held} of ${r.count} ${r.gpuType} held` : `available ${r.availableFrom.slice(0, 10)} to ${r.availableUntil?.slice(0, 10) ?? 'open'}`})`).join(', ');
  return {
    refuse: {
      reason: 'insufficient_capacity',
      message:
        `no capacity row has ${alternatives.map((a) => `${a.count} ${a.type}`).join(' or ')} free for ${from.toISOString()} to ${to.toISOString()}` +
        `${ask.acceptPartial ? ` (nor ${ask.acceptPartial.atLeast} as a partial grant)` : ''}; GPUs are held from reservation until release: ${rows}`,
      rule: 'capacity',
      capacity: considered.slice(0, 50),
      retryable: true,
    },
  };
}

export interface GrowthAsk {
  policy: GpuPoolPolicy;
  policyVersion: number;
  organisationId: string;
  /** The capacity the organisation leases to the pool, with what is held on it (asked only for a longer window). */
  leases: RowHolding[];
  /** The allocation's own row, what the others hold on it, and what the allocation holds now. */
  row: CapacityView;
  othersHeld: number;
  holds: number;
  /** What the allocation asks to hold: `count` GPUs over [from, to). */
  count: number;
  from: Date;
  to: Date;
  extendsWindow: boolean;
}

/** Whether an allocation may grow (a longer window, more GPUs) on its row: null, or the refusal. */
export function growthRefusal(ask: GrowthAsk): GpuRefusal | null {
  const { row: cap, othersHeld, count, to } = ask;
  if (ask.extendsWindow) {
    const exclusion = lessorExclusion(ask.policy, ask.organisationId, ask.leases.map((l) => l.row), ask.from, to);
    if (exclusion) {
      const heldOn = new Map(ask.leases.map((r) => [r.row.id, r.held]));
      return {
        reason: 'lessor_conflict', message: lessorMessage(exclusion, ask.organisationId, ask.policyVersion), rule: exclusion.rule,
        capacity: exclusion.leases.map((l) => describeRow(l, heldOn.get(l.id) ?? 0, 'leased_by_requester')), retryable: false,
      };
    }
  }
  if (!covers(cap, ask.from, to)) {
    return {
      reason: 'insufficient_capacity', message: `capacity ${cap.id} is available only until ${cap.availableUntil}, ${to.toISOString()} asked`,
      rule: 'capacity', capacity: [describeRow(cap, othersHeld + ask.holds, 'not_available')], retryable: false,
    };
  }
  if (othersHeld + count > cap.count) {
    return {
      reason: 'insufficient_capacity',
      message: `capacity ${cap.id} has ${cap.count - othersHeld} ${cap.gpuType} not held by others (they hold ${othersHeld} of ${cap.count} until released), ${count} asked`,
      rule: 'capacity', capacity: [describeRow(cap, othersHeld + ask.holds, 'full')], retryable: true,
    };
  }
  return null;
}
