/**
 * Proposals of a decision from a ranking: the selection from the last review round, a narrowing
 * from an evaluation round. Entering the selection stage and closing an evaluation round propose;
 * an upheld objection proposes again (decision-flow.ts).
 */
import type { EvaluationStage, SelectionStage } from '../policy/schema';
import type { RankingRecord } from '../scoring/record';
import { resolveDue } from '../shared/time';
import { narrowingCandidates, proposedOf, selectionCandidates } from './decision-rules';
import type { CycleEvent } from './events';
import { base, closeCycle } from './stage-basis';
import { selectionProposal } from './funding-tiers';
import type { RunningCycle } from './state';

export function proposeSelection(s: RunningCycle, index: number, now: string, rerun: boolean): CycleEvent[] {
  const stage = s.policy.stages[index] as SelectionStage;
  const lastReview = Object.values(s.rounds)
    .filter((r) => r.kind === 'review' && r.result)
    .sort((a, b) => b.round - a.round)[0];
  const candidates = selectionCandidates(s, lastReview.result!.order);
  if (candidates.length === 0) return closeCycle(s, now, 'no_teams');
  // Funding tiers (issue 15): the draw among the middle band is recorded before the proposal it makes.
  const { proposed, draw, pools } = selectionProposal(s, stage, lastReview.roundKey, 'selection', candidates);
  const events: CycleEvent[] = [
    ...(draw ? [{ type: 'FundingLotteryDrawn' as const, data: { ...draw, at: now } }] : []),
    // Budgets and pools (issue 15): what each pool awards, and each pool that ran out, before the proposal they make.
    ...(pools ? [{ type: 'FundingPoolsAllocated' as const, data: { ...pools.allocated, at: now } }] : []),
    ...(pools?.exhausted ?? []).map((x): CycleEvent => ({ type: 'PoolExhausted', data: { ...x, at: now } })),
    {
      type: 'SelectionProposed',
      data: {
        decisionKey: 'selection',
        stageIndex: index,
        roundKey: lastReview.roundKey,
        candidates,
        proposed,
        minAwardees: stage.minAwardees,
        maxAwardees: stage.maxAwardees,
        approvalDueAt: resolveDue(stage.approvalDue, base(s, now)),
        rerun,
        policyHash: s.policyHash,
      },
    },
  ];
  if (candidates.length < stage.minAwardees) {
    events.push({
      type: 'EscalationRaised',
      data: { reason: 'fewer_candidates_than_minimum', subject: 'selection', details: `${candidates.length} candidate(s) for at least ${stage.minAwardees} awards`, raisedAt: now, heldDeadline: null },
    });
  } else if (pools && proposed.length < stage.minAwardees) {
    // Budgets and pools: enough candidates, but the pools' budgets fund fewer than the policy's minimum.
    const details = `the funding pools fund ${proposed.length} of ${candidates.length} candidate(s) for at least ${stage.minAwardees} awards`;
    events.push({ type: 'EscalationRaised', data: { reason: 'fewer_candidates_than_minimum', subject: 'selection', details, raisedAt: now, heldDeadline: null } });
  }
  return events;
}

export function proposeNarrowing(s: RunningCycle, index: number, round: number, roundKey: string, result: RankingRecord, now: string, rerun: boolean): CycleEvent {
  const stage = s.policy.stages[index] as EvaluationStage;
  const candidates = narrowingCandidates(s, result.ranking.map((r) => r.candidateId));
  return {
    type: 'NarrowingProposed',
    data: {
      decisionKey: `narrowing:${round}`,
      stageIndex: index,
      round,
      roundKey,
      result,
      candidates,
      plannedKeep: stage.narrowing.keep,
      proposed: proposedOf(candidates, stage.narrowing.keep),
      approvalDueAt: resolveDue(stage.narrowing.approvalDue, now),
      rerun,
      policyHash: s.policyHash,
    },
  };
}
