/**
 * Budgets and pools (issue 15, item 4; policy `selection.funding`). Who is fundable comes first: the
 * ranking's candidates, or with funding tiers those the tiers fund (outright, then drawn). The pools
 * then decide how much, walking that order: each applicant draws from the first pool it matches
 * (lead organisation type, region), asks for its request (else the grant stage's default), which
 * caps may cut (the request cap, GPUs per lead organisation, per region); a pool pays it when its
 * budget (GPUs, or GPU-hours at the grant period's hours per GPU) still covers it. The first
 * applicant a pool cannot fully pay exhausts it: with `full_or_nothing` it gets nothing, with
 * `partial` what is left (at least `minimumAward`); either way the pool stops awarding, and its
 * later applicants are not funded because of it (PoolExhausted). `maxAwardees` still bounds the
 * number of awards. Pure: the workflow records the result (FundingPoolsAllocated, PoolExhausted) and
 * libs/audit re-derives it with this module.
 */
import type { FundingPool } from '../policy/funding-pools';
import type { GpuAllocation, SelectionStage } from '../policy/schema';
import { fail } from '../shared/errors';
import { resolveDue } from '../shared/time';
import { scaleGpus } from './grant-gpus';
import type { CapApplied, FundingPoolsAllocated, NotFundedReason, PoolAward, PoolExhausted } from './pool-events';
import { grantStage } from './stage-basis';
import type { ApplicationRecord, RunningCycle } from './state';

export interface PoolAllocation {
  allocated: Omit<FundingPoolsAllocated['data'], 'at'>;
  exhausted: Array<Omit<PoolExhausted['data'], 'at'>>;
  /** Who the pools fund, in the fundable order: the selection's proposal. */
  funded: string[];
}

/**
 * GPU-hours a GPU costs: the grant period's length counted from the call's opening (so it is the
 * same at every re-run), in whole hours, a started hour counting as one (never 0: a grant of
 * minutes still costs its GPUs).
 */
export function hoursPerGpu(s: RunningCycle): number {
  const end = resolveDue(grantStage(s).duration, s.openedAt);
  return Math.max(1, Math.ceil((Date.parse(end) - Date.parse(s.openedAt)) / 3_600_000));
}

/** The first pool (in the policy's order) whose lead types and regions the application matches. */
export function poolOf(pools: readonly FundingPool[], app: ApplicationRecord): FundingPool | null {
  return pools.find((p) => (!p.leadTypes || p.leadTypes.includes(app.leadType)) && (!p.regions || (app.region !== undefined && p.regions.includes(app.region)))) ?? null;
}

const budgetOf = (p: FundingPool): number => ('gpuHours' in p.budget ? p.budget.gpuHours : p.budget.gpus);

export function allocatePools(s: RunningCycle, stage: SelectionStage, roundKey: string, decisionKey: string, fundable: readonly string[]): PoolAllocation {
  const funding = stage.funding!;
  const grant = grantStage(s);
  const base = grant.gpusPerAwardee;
  const hours = funding.pools.some((p) => 'gpuHours' in p.budget) ? hoursPerGpu(s) : null;
  const unitOf = (p: FundingPool) => ('gpuHours' in p.budget ? hours! : 1);
  const used = new Map<string, number>();
  const byOrganisation = new Map<string, number>();
  const byRegion = new Map<string, number>();
  const exhausted = new Map<string, { partiallyFunded: PoolExhausted['data']['partiallyFunded']; notFunded: string[] }>();
  const awards: PoolAward[] = [];
  const capsApplied: CapApplied[] = [];
  const notFunded: FundingPoolsAllocated['data']['notFunded'] = {};
  const notFund = (id: string, reason: NotFundedReason) => (notFunded[reason] ??= []).push(id);

  for (const id of fundable) {
    const app = s.applications[id];
    const pool = app ? poolOf(funding.pools, app) : null;
    if (!app || !pool) {
      notFund(id, 'no_pool');
      continue;
    }
    const refuse = (reason: 'pool_exhausted' | 'cap' | 'seats') => notFund(id, reason);
    if (awards.length >= stage.maxAwardees) {
      refuse('seats');
      continue;
    }
    const ranOut = exhausted.get(pool.id);
    if (ranOut) {
      ranOut.notFunded.push(id);
      refuse('pool_exhausted');
      continue;
    }
    const requested = app.gpusRequested ?? base[0].count;
    let amount = requested;
    const cut = (cap: CapApplied['cap'], key: string, limit: number, left: number) => {
      if (left >= amount) return;
      capsApplied.push({ applicationId: id, cap, key, limit, before: amount, after: Math.max(0, left) });
      amount = Math.max(0, left);
    };
    const requestCap = grant.applicantRequests?.cap;
    if (app.gpusRequested !== undefined && requestCap) cut('request', id, requestCap, requestCap);
    const caps = funding.caps;
    if (caps?.perOrganisation) cut('organisation', app.lead, caps.perOrganisation, caps.perOrganisation - (byOrganisation.get(app.lead) ?? 0));
    if (caps?.perRegion && app.region) cut('region', app.region, caps.perRegion, caps.perRegion - (byRegion.get(app.region) ?? 0));
    if (amount === 0) {
      refuse('cap');
      continue;
    }
    const unit = unitOf(pool);
    const left = budgetOf(pool) - (used.get(pool.id) ?? 0);
    let awarded = amount;
    if (amount * unit > left) {
      const part = Math.floor(left / unit);
      const partial = funding.award === 'partial' && part >= (funding.minimumAward ?? 1);
      exhausted.set(pool.id, { partiallyFunded: partial ? { applicationId: id, requested, awarded: part } : null, notFunded: partial ? [] : [id] });
      if (!partial) {
        refuse('pool_exhausted');
        continue;
      }
      awarded = part;
    }
    used.set(pool.id, (used.get(pool.id) ?? 0) + awarded * unit);
    byOrganisation.set(app.lead, (byOrganisation.get(app.lead) ?? 0) + awarded);
    if (app.region) byRegion.set(app.region, (byRegion.get(app.region) ?? 0) + awarded);
    const gpus: GpuAllocation[] = pool.gpuType ? [{ type: pool.gpuType, count: awarded }] : scaleGpus(base, awarded);
    awards.push({ applicationId: id, poolId: pool.id, requested, awarded, cost: awarded * unit, gpus });
  }

  const funded = awards.map((a) => a.applicationId);
  return {
    allocated: {
      decisionKey,
      roundKey,
      award: funding.award,
      hoursPerGpu: hours,
      seats: stage.maxAwardees,
      fundable: [...fundable],
      pools: funding.pools.map((p) => ({
        poolId: p.id,
        budget: p.budget,
        used: used.get(p.id) ?? 0,
        funded: awards.filter((a) => a.poolId === p.id).map((a) => a.applicationId),
        exhausted: exhausted.has(p.id),
      })),
      awards,
      capsApplied,
      notFunded,
    },
    exhausted: funding.pools
      .filter((p) => exhausted.has(p.id))
      .map((p) => ({ decisionKey, poolId: p.id, budget: p.budget, used: used.get(p.id) ?? 0, ...exhausted.get(p.id)! })),
    funded,
  };
}

/** The state after an allocation: each awarded team keeps its amount (its grant's), everyone else loses an earlier award (a re-run). */
export function withPoolAwards(s: RunningCycle, d: FundingPoolsAllocated['data']): RunningCycle {
  const byTeam = new Map(d.awards.map((a) => [a.applicationId, a.gpus]));
  const applications = { ...s.applications };
  for (const [id, app] of Object.entries(applications)) {
    const gpus = byTeam.get(id);
    if (gpus) applications[id] = { ...app, gpusAwarded: gpus };
    else if (app.gpusAwarded) {
      const { gpusAwarded: _dropped, ...rest } = app;
      applications[id] = rest;
    }
  }
  return { ...s, applications };
}

/** With pools, a program manager's override may name only teams the pools funded: an award outside them has no budget. */
export function requireFundedByPools(s: RunningCycle, awardees: readonly string[]): void {
  if (!s.policy.stages.some((st) => st.kind === 'selection' && st.funding)) return;
  const unfunded = awardees.find((id) => !s.applications[id]?.gpusAwarded);
  if (unfunded) fail('validation_failed', `"${unfunded}" has no award from the funding pools (its pool ran out, a cap left it nothing, or no pool takes it)`, 'awardees');
}
