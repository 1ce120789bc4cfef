/**
 * The program's next year: a cycle that closed (not one cancelled) on a policy that repeats is
 * followed by next year's, which opens one `repeatEvery` after this cycle's call opened
 * (`nextCycleOpensAt`, the instant CycleClosed records).
 */
import { nextCycleOpensAt } from './stage-basis';
import type { CycleState } from './state';

export interface NextCycle {
  year: number;
  /** This cycle's opening, which next year's opening counts from. */
  after: string;
  repeatEvery: string;
  opensAt: string;
}

export function nextCycle(state: CycleState): NextCycle | null {
  if (state.stage !== 'closed' || !state.policy.repeatEvery) return null;
  const { repeatEvery } = state.policy;
  return { year: state.year + 1, after: state.openedAt, repeatEvery, opensAt: nextCycleOpensAt(state.openedAt, repeatEvery)! };
}
