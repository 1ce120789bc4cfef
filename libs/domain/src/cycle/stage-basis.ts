/**
 * What entering a stage counts from and reads: the base instant (a pending refill shift moves it),
 * the grant stage, the call's candidates, and the closing event when nothing is left to enter.
 * Shared by the pipeline and the decision flow, which call each other's functions; this module
 * imports neither, so neither imports the other back.
 */
import type { GrantStage } from '../policy/schema';
import { addDuration } from '../shared/time';
import type { CycleClosed, CycleEvent } from './events';
import { outstandingReports } from './grant-sanction-lift';
import { activeTeams, applicationIds, type RunningCycle } from './state';

/** Where dates of a newly entered stage count from: now, moved by a refill's shift if one is pending. */
export function base(s: RunningCycle, now: string): string {
  return s.pendingShift ? addDuration(now, s.pendingShift) : now;
}

export function grantStage(s: RunningCycle): GrantStage {
  return s.policy.stages.find((st): st is GrantStage => st.kind === 'grant')!;
}

/** Applications still competing in the main call (not refill entries). */
export function callCandidates(s: RunningCycle): string[] {
  return applicationIds(s, (a) => a.status === 'submitted' && !a.refillKey);
}

/**
 * When next year's cycle opens: one `repeatEvery` after this cycle's call opened (null when the
 * policy does not repeat). CycleClosed records it, and the workflow's timer for next year waits for it.
 */
export function nextCycleOpensAt(openedAt: string, repeatEvery: string | undefined): string | null {
  return repeatEvery ? addDuration(openedAt, repeatEvery) : null;
}

/** The cycle closes: reports still outstanding recorded first (issue 15), then CycleClosed. */
export function closeCycle(s: RunningCycle, now: string, outcome?: CycleClosed['data']['outcome']): CycleEvent[] {
  const p = s.procurement;
  const outstanding: CycleClosed['data']['outstanding'] = [];
  if (p) {
    for (const id of p.finalists) {
      if (s.applications[id]?.status !== 'active') continue;
      if (!Object.values(p.contracts).includes(id)) outstanding.push({ applicationId: id, missing: 'procurement_contract' });
      if (!p.released.includes(id)) outstanding.push({ applicationId: id, missing: 'release_declaration' });
    }
  }
  const closed: CycleEvent = {
    type: 'CycleClosed',
    data: {
      outcome: outcome ?? (outstanding.length > 0 ? 'completed_with_outstanding' : 'completed'),
      finalists: activeTeams(s),
      outstanding,
      closedAt: now,
      nextCycleOpensAt: nextCycleOpensAt(s.openedAt, s.policy.repeatEvery),
    },
  };
  return [...outstandingReports(s, now), closed];
}
