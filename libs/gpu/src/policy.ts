import { z } from 'zod';
import type { GpuAmount, GpuRequest, UsageThreshold } from './gpu.activities';

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
