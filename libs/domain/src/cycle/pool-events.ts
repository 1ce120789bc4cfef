/**
 * The events of budgets and pools (issue 15, item 4; policy `selection.funding`), recorded after a
 * funding draw (if any) and before the SelectionProposed they make. Their own file so that
 * events.ts stays within the file size limit; CycleEvent includes them.
 */
import type { GpuAllocation } from '../policy/schema';
import type { PoolBudget } from '../policy/funding-pools';

type Ev<T extends string, D> = { type: T; data: D };

/** Why a fundable applicant got nothing: no pool takes it, its pool ran out, a cap left it nothing, or every award was made. */
export type NotFundedReason = 'no_pool' | 'pool_exhausted' | 'cap' | 'seats';

/** A cap that cut an amount: `request` (grant stage `applicantRequests.cap`), `organisation` or `region` (policy `funding.caps`). */
export interface CapApplied {
  applicationId: string;
  cap: 'request' | 'organisation' | 'region';
  /** The organisation or region the cap counts for (the application id for `request`). */
  key: string;
  limit: number;
  /** GPUs before and after the cap. */
  before: number;
  after: number;
}

export interface PoolAward {
  applicationId: string;
  poolId: string;
  /** GPUs asked for (the application's request, else the grant stage's default), and awarded. */
  requested: number;
  awarded: number;
  /** What the award took from the pool's budget, in its unit (GPUs or GPU-hours). */
  cost: number;
  /** The amount the grant is provisioned with. */
  gpus: GpuAllocation[];
}

export interface PoolOutcome {
  poolId: string;
  budget: PoolBudget;
  /** Of the budget, in its unit. */
  used: number;
  funded: string[];
  exhausted: boolean;
}

export type FundingPoolsAllocated = Ev<
  'FundingPoolsAllocated',
  {
    decisionKey: string;
    roundKey: string;
    award: 'full_or_nothing' | 'partial';
    /** GPU-hours one GPU costs for the grant period (its length from the call's opening); null when no pool counts GPU-hours. */
    hoursPerGpu: number | null;
    seats: number;
    /** Who was fundable, in the order pools award in (the ranking, or the funding tiers' outright then drawn). */
    fundable: string[];
    pools: PoolOutcome[];
    awards: PoolAward[];
    capsApplied: CapApplied[];
    /** Fundable applications not funded, by reason, in the fundable order (grouped: compact at a thousand applications). */
    notFunded: Partial<Record<NotFundedReason, string[]>>;
    at: string;
  }
>;

/** A pool ran out: it stopped awarding, and these applicants of it were not funded (or only partly) because of it. */
export type PoolExhausted = Ev<
  'PoolExhausted',
  {
    decisionKey: string;
    poolId: string;
    budget: PoolBudget;
    used: number;
    /** The applicant who got what was left (award `partial`), if any. */
    partiallyFunded: { applicationId: string; requested: number; awarded: number } | null;
    notFunded: string[];
    at: string;
  }
>;

export type PoolEvent = FundingPoolsAllocated | PoolExhausted;
