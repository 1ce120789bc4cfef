/**
 * Funding tiers with partial randomisation (issue 15, item 3; policy `selection.fundingTiers`).
 * After the ranking: applications whose total is at or above `fundAtOrAbove` are funded outright
 * (best first, while awards remain), those below `rejectBelow` are not funded, and the awards left
 * go to the middle band by a seeded lottery: proposals of indistinguishable merit are not ranked
 * against each other by noise. The seed is the cycle's published one, so the same seed gives the
 * same awards, and another seed changes only who of the middle band is funded. The draw is recorded
 * (FundingLotteryDrawn) before the proposal it makes; libs/audit re-derives both with this module.
 */
import type { ProgramPolicy, SelectionStage } from '../policy/schema';
import type { RankingRecord } from '../scoring/record';
import { createPrng, drawOrder } from '../scoring/lottery';
import { proposedOf } from './decision-rules';
import type { FundingLotteryDrawn } from './events';
import { allocatePools, type PoolAllocation } from './funding-pools';
import type { RoundRecord, RunningCycle } from './state';

const hasTiers = (policy: ProgramPolicy) => policy.stages.some((st) => st.kind === 'selection' && st.fundingTiers);

/** A closed review round keeps its totals when a selection has tiers (the bands are cut on them). */
export function withTotals(policy: ProgramPolicy, round: RoundRecord, record: RankingRecord): RoundRecord {
  if (round.kind !== 'review' || !hasTiers(policy)) return round;
  return { ...round, totals: Object.fromEntries(record.ranking.map((r) => [r.candidateId, r.total])) };
}

export interface SelectionProposal {
  proposed: string[];
  /** The draw's record when the stage has tiers (its `at` is filled in by the caller). */
  draw: Omit<FundingLotteryDrawn['data'], 'at'> | null;
  /** What the funding pools award when the stage has them (funding-pools.ts); `proposed` is then who they fund. */
  pools: PoolAllocation | null;
}

/**
 * What a selection proposes from its candidates (ranking order). Tiers (or the ranking) decide who
 * is fundable; with `funding` pools, the pools then decide how much each gets and may fund fewer.
 */
export function selectionProposal(s: RunningCycle, stage: SelectionStage, roundKey: string, decisionKey: string, candidates: readonly string[]): SelectionProposal {
  const tiered = tieredProposal(s, stage, roundKey, decisionKey, candidates);
  if (!stage.funding) return { ...tiered, pools: null };
  const pools = allocatePools(s, stage, roundKey, decisionKey, stage.fundingTiers ? tiered.proposed : candidates);
  return { proposed: pools.funded, draw: tiered.draw, pools };
}

/** Who is fundable, in order: the top `maxAwardees`, or by tiers and the draw. */
function tieredProposal(s: RunningCycle, stage: SelectionStage, roundKey: string, decisionKey: string, candidates: readonly string[]): Omit<SelectionProposal, 'pools'> {
  const tiers = stage.fundingTiers;
  if (!tiers) return { proposed: proposedOf(candidates, stage.maxAwardees), draw: null };
  const totals = s.rounds[roundKey]?.totals ?? {};
  const total = (id: string) => totals[id] ?? Number.NEGATIVE_INFINITY;
  const top = candidates.filter((id) => total(id) >= tiers.fundAtOrAbove);
  const band = candidates.filter((id) => total(id) < tiers.fundAtOrAbove && total(id) >= tiers.rejectBelow);
  const fundedOutright = top.slice(0, stage.maxAwardees);
  const seed = `${s.lotterySeed}:${decisionKey}:funding`;
  const order = band.length > 0 ? drawOrder(createPrng(seed), band) : [];
  const drawnFunded = order.slice(0, stage.maxAwardees - fundedOutright.length);
  const proposed = [...fundedOutright, ...drawnFunded];
  return {
    proposed,
    draw: {
      decisionKey,
      roundKey,
      fundAtOrAbove: tiers.fundAtOrAbove,
      rejectBelow: tiers.rejectBelow,
      seats: stage.maxAwardees,
      fundedOutright,
      band,
      seed,
      order,
      drawnFunded,
      notFunded: candidates.filter((id) => !proposed.includes(id)),
    },
  };
}
