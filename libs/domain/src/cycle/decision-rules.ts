/**
 * What a ranking proposes and what a decision keeps: the rules that the cycle's pipeline decides
 * with and that libs/audit's re-derivation checks with. One home for both, so the auditor's check
 * runs the very rules that made the decision and cannot agree with a copy of them.
 * A leaf module: it reads the state, and imports nothing of the pipeline or the proposals.
 */
import type { ReviewStage } from '../policy/schema';
import type { RunningCycle } from './state';

export interface Outcome {
  kept: string[];
  dropped: string[];
}

/** A review round keeps the top `keep` of its ranking (everyone ranked when the stage sets no `keep`); the others still in the round are dropped. */
export function reviewRoundOutcome(stage: ReviewStage, ranked: readonly string[], live: readonly string[]): Outcome {
  const kept = stage.keep === undefined ? [...ranked] : ranked.slice(0, stage.keep);
  return { kept, dropped: live.filter((id) => !kept.includes(id)) };
}

/** A selection's candidates: the ranked applications still submitted, in ranking order. */
export function selectionCandidates(s: RunningCycle, ranked: readonly string[]): string[] {
  return ranked.filter((id) => s.applications[id]?.status === 'submitted');
}

/** A narrowing's candidates: the ranked teams still active, in ranking order. */
export function narrowingCandidates(s: RunningCycle, ranked: readonly string[]): string[] {
  return ranked.filter((id) => s.applications[id]?.status === 'active');
}

/** A proposal names the first `seats` candidates of the ranking. */
export function proposedOf(candidates: readonly string[], seats: number): string[] {
  return candidates.slice(0, seats);
}

/** A decision keeps those it names who are still competing (the pool); everyone else in the pool is dropped. */
export function decisionOutcome(named: readonly string[], pool: readonly string[]): Outcome {
  const kept = named.filter((id) => pool.includes(id));
  return { kept, dropped: pool.filter((id) => !kept.includes(id)) };
}
