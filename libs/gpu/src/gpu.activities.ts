/**
 * The GPU activities the grant workflow calls. Workflows import the *types* only:
 *
 *   import type { GpuActivities } from '@concentra/gpu';
 *   const gpu = proxyActivities<GpuActivities>({ startToCloseTimeout: '2 minutes' });
 *
 * Every call carries an idempotency key derived from the workflow step, e.g.
 * `grant:<program>:<year>:<team>#provision`, `...#extend-1`, `...#meter-7`, `...#release`
 * (see `gpuStepKey`). A retry with the same key does the thing once and returns the same answer;
 * the same key with a different input is refused (`GpuIdempotencyConflict`, non-retryable).
 *
 * Refusals that are decisions (not enough capacity, lessor conflict) are *returned*
 * (`status: 'refused'`), recorded as `GpuRequestRefused`, and never retried. Infrastructure
 * failures (database, Slurm down) are thrown and retried by Temporal.
 */

/** A GPU type as the pool names it: 'H100', 'H200', 'B200', ... (case-insensitive, stored upper-case). */
export type GpuType = string;

export interface GpuAmount {
  type: GpuType;
  count: number;
}

/**
 * What a grant asks for. Either explicit alternatives in order of preference
 * ("512 B200 or 1,024 H100": `{ alternatives: [{type:'B200',count:512},{type:'H100',count:1024}] }`),
 * or one amount that may be served in any type at the pool policy's equivalence rates
 * (`{ equivalentTo: { type: 'B200', count: 512 }, acceptTypes?: ['H100'] }`: 1 B200 = 2 H100 gives 1,024 H100).
 * The policy's `gpusPerAwardee` array maps directly onto `alternatives`.
 */
export type GpuRequest =
  | { alternatives: GpuAmount[] }
  | { equivalentTo: GpuAmount; /** types that may serve it; default every type with a rate */ acceptTypes?: GpuType[] };

export interface TimeWindow {
  /** ISO-8601 instants; the allocation holds capacity over [from, to). */
  from: string;
  to: string;
}

export interface ProvisionGrantInput {
  idempotencyKey: string;
  /** The grant workflow id, `grant:<program>:<year>:<team>`; one live allocation per grant. */
  grantId: string;
  /** The awardee organisation (checked against the lessor-conflict rule). */
  organisationId: string;
  request: GpuRequest;
  /**
   * From when, and the planned end. `to` may be null or not after `from` (a grant with no funded
   * end, or one provisioned after it): the plan is then two years on. Either way the allocation
   * holds its GPUs until it is released.
   */
  window: { from: string; to: string | null };
  /**
   * A GPU-time budget in GPU-minutes of the *requested* first alternative's type; converted at the
   * equivalence rate to the served type and enforced as `GrpTRESMins=gres/gpu=M`. Absent = no budget.
   */
  gpuMinutes?: number;
  /** Prefer capacity at this site when several fit. */
  preferSite?: string;
  /** Scheduler users given access to the account (Slurm user associations). */
  users?: string[];
  /**
   * When no row can serve the whole request, serve what the best row has if that is at least
   * `atLeast` (in units of the first alternative): the result is `active` with `shortfall` > 0, and
   * the workflow raises it later with `changeGrant({ limits: { gpus: served.count + shortfall } })`.
   */
  acceptPartial?: { atLeast: number };
}

export interface ServedGpus {
  type: GpuType;
  count: number;
  site: string;
  cluster: string;
  capacityId: string;
  /** How many units of the first requested type one served GPU counts as (1 when served as requested). */
  rate: number;
}

export interface ProviderAccountRef {
  provider: string; // 'slurm', ...
  cluster: string;
  account: string;
}

export type AllocationStatus = 'requested' | 'reserved' | 'active' | 'released' | 'refused';

export type GpuRefusalReason =
  | 'insufficient_capacity'
  | 'lessor_conflict'
  | 'unknown_gpu_type'
  | 'invalid_request';

export type UsageMode = 'normal' | 'throttled' | 'suspended';

/** A capacity row a refusal looked at, and why it could not serve. */
export interface RefusalCapacity {
  capacityId: string;
  site: string;
  gpuType: GpuType;
  count: number;
  /** GPUs held on the row by live allocations (held from reservation until release). */
  held: number;
  free: number;
  /** Leased rows name their lessor. */
  lessorOrganisationId: string | null;
  availableFrom: string;
  availableUntil: string | null;
  /** `full`: fewer free than asked; `not_available`: the row does not cover the window; `leased_by_requester`: the lessor rule names it. */
  why: 'full' | 'not_available' | 'leased_by_requester';
}

/**
 * Why a request or a change was refused. `rule` names the rule that decided (`capacity` or a lessor
 * rule of the pool policy), `capacity` the rows involved, `retryable` whether asking again once
 * capacity frees can succeed (`insufficient_capacity`), as opposed to a rule that will say the same.
 */
export interface GpuRefusal {
  reason: GpuRefusalReason;
  message: string;
  rule?: 'capacity' | 'lessors_receive_none' | 'exclude_while_in_use' | 'type';
  capacity?: RefusalCapacity[];
  policyVersion?: number;
  retryable?: boolean;
}

export interface GpuAllocationView {
  allocationId: string;
  grantId: string;
  organisationId: string;
  status: AllocationStatus;
  requested: GpuRequest;
  served: ServedGpus | null;
  window: TimeWindow;
  /** Budget in GPU-minutes of the served type; null = none. */
  gpuMinutes: number | null;
  account: ProviderAccountRef | null;
  mode: UsageMode;
  refusal: GpuRefusal | null;
  releasedReason: string | null;
  gpuMinutesUsed: number;
  /** The pool policy version the allocation was decided under. */
  policyVersion: number;
  /** GPUs of the served type still owed to a partially served grant (`acceptPartial`); 0 when served in full. */
  shortfall: number;
}

export type ProvisionGrantResult =
  | ({ status: 'active' } & GpuAllocationView & { served: ServedGpus; account: ProviderAccountRef })
  | ({ status: 'refused' } & GpuAllocationView & { refusal: GpuRefusal })
  /** A late retry of a provision whose allocation has since been released: nothing is created again. */
  | ({ status: 'released' } & GpuAllocationView);

export interface ChangeGrantInput {
  idempotencyKey: string;
  grantId: string;
  /**
   * Extension: the planned window now ends at this instant (the capacity row must be available until
   * then, and the lessor rule must allow it). The allocation holds its GPUs until it is released
   * either way; the window is the plan the pool read and the lessor rules go by.
   */
  extendTo?: string;
  /**
   * New limits, in the served type, e.g. a finalist's `gpusPerFinalist` with the extension. A larger
   * count is checked against what the others hold on the same row. `gpuMinutes: null` removes the budget.
   */
  limits?: { gpus?: number; gpuMinutes?: number | null };
  /** Throttle (QOS `concentra-throttled`, fewer GPUs) or suspend (no GPUs, no new jobs), or back to normal. */
  mode?: UsageMode;
}

/** `refused`: the extension or new limit does not fit the capacity; the allocation is unchanged. */
export type ChangeGrantResult =
  | { outcome: 'changed'; allocation: GpuAllocationView }
  | { outcome: 'refused'; allocation: GpuAllocationView; refusal: GpuRefusal };

export type ReleaseReason = 'ended' | 'eliminated' | 'cancelled' | 'cycle_cancelled' | 'failed' | (string & {});

export interface ReleaseGrantInput {
  idempotencyKey: string;
  grantId: string;
  reason: ReleaseReason;
}

export interface ReleaseGrantResult {
  /** False when there was nothing live to release (already released, refused, or never provisioned). */
  released: boolean;
  allocationId: string | null;
  gpuMinutesUsed: number;
  /** The capacity given back to the pool (reallocatable to the remaining grants). */
  freed: { type: GpuType; count: number; site: string; capacityId: string } | null;
  /**
   * The pool policy on released capacity: `to_pool` (it waits for the next request) or
   * `to_remaining_grants` (the engine offers it to the cycle's remaining grants with changeGrant limits.gpus).
   */
  reallocation: 'to_pool' | 'to_remaining_grants';
}

export type ThresholdAction = 'warn' | 'throttle' | 'suspend';

export interface UsageThreshold {
  /** Fraction of the granted GPU-hours, e.g. 0.8 and 1.0. */
  atFraction: number;
  action: ThresholdAction;
}

export interface MeterUsageInput {
  idempotencyKey: string;
  grantId: string;
  /** Overrides the pool policy's thresholds (default 80 % warn, 100 % suspend). */
  thresholds?: UsageThreshold[];
}

export interface MeterUsageResult {
  grantId: string;
  allocationId: string | null;
  measuredAt: string;
  gpuHoursUsed: number;
  /** null when the grant has no GPU-time budget. */
  gpuHoursGranted: number | null;
  fractionUsed: number | null;
  /** Every threshold at or below the fraction used. */
  crossed: UsageThreshold[];
  /** Thresholds crossed for the first time by this metering (notify once on these). */
  newlyCrossed: UsageThreshold[];
  /** The strongest action among the crossed thresholds the grant is not already in; the workflow applies it with changeGrant. */
  action: ThresholdAction | 'none';
}

export interface GpuActivities {
  provisionGrant(input: ProvisionGrantInput): Promise<ProvisionGrantResult>;
  changeGrant(input: ChangeGrantInput): Promise<ChangeGrantResult>;
  releaseGrant(input: ReleaseGrantInput): Promise<ReleaseGrantResult>;
  meterUsage(input: MeterUsageInput): Promise<MeterUsageResult>;
  /** The grant's current (or last) allocation; null when never provisioned. */
  describeGrant(input: { grantId: string }): Promise<GpuAllocationView | null>;
}

/** The idempotency key for one workflow step: `gpuStepKey('grant:p:2027:t', 'extend', 1)` → `grant:p:2027:t#extend-1`. */
export function gpuStepKey(grantId: string, step: 'provision' | 'change' | 'extend' | 'throttle' | 'meter' | 'release', sequence?: number): string {
  return sequence === undefined ? `${grantId}#${step}` : `${grantId}#${step}-${sequence}`;
}
