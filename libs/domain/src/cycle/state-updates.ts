/** Immutable updates of the running cycle, shared by evolve's cases. */
import {
  grantWorkflowId,
  type ApplicationStatus,
  type DecisionRecord,
  type GrantRecord,
  type RoundRecord,
  type RunningCycle,
} from './state';
import type { DeadlineKind } from './deadlines';
import type { RankFacts } from '../scoring/record';
import type { Verdict } from '../scoring/weighted';
import { encodeSheet } from './sheets';

/**
 * A new stage ends the decision before it, and with it that decision's objection deadlines: a
 * timer left armed for a decision that is gone would fire on nothing.
 */
export function enteredStage(s: RunningCycle, stage: RunningCycle['stage'], stageIndex: number): RunningCycle {
  const ended = stage === 'objection' ? s : clearDeadlines(s, 'objection_notice_due', 'objection_window_end', 'objection_decision_due');
  return { ...ended, stage, stageIndex, pendingShift: null };
}

export function withDeadline(s: RunningCycle, kind: DeadlineKind, at: string | null): RunningCycle {
  const deadlines = { ...s.deadlines };
  if (at === null) delete deadlines[kind];
  else deadlines[kind] = at;
  return { ...s, deadlines };
}

export function clearDeadlines(s: RunningCycle, ...kinds: DeadlineKind[]): RunningCycle {
  const deadlines = { ...s.deadlines };
  for (const k of kinds) delete deadlines[k];
  return { ...s, deadlines };
}

export function setStatus(s: RunningCycle, ids: string[], status: ApplicationStatus): RunningCycle {
  if (ids.length === 0) return s;
  const applications = { ...s.applications };
  for (const id of ids) if (applications[id]) applications[id] = { ...applications[id], status };
  return { ...s, applications };
}

/** Named panel members (reviewers or evaluators) whose organisation is in the consortium (lead and members). */
export function conflictedPanel(s: RunningCycle, consortium: readonly string[]): string[] {
  const orgs = new Set(consortium);
  const out: string[] = [];
  for (const p of [...s.panel.reviewers, ...s.panel.evaluators]) {
    if (p.organisationId && orgs.has(p.organisationId) && !out.includes(p.subject)) out.push(p.subject);
  }
  return out;
}

export function newRound(roundKey: string, kind: RoundRecord['kind'], round: number, stageIndex: number, scoring: string, candidates: string[], dueAt: string | null): RoundRecord {
  return { roundKey, kind, round, stageIndex, scoring, candidates, dueAt, extended: false, sheets: {}, submissionDueAt: null, submissions: {}, submissionsClosed: false, zeroed: [], closed: false, result: null };
}

/** A round closes with its ranking; its sheets are dropped (they are in the events, the ranking is in `result`). */
export function closeRound(r: RoundRecord, result: RankFacts): RoundRecord {
  return { ...r, closed: true, result, sheets: {} };
}

export function reviewScheme(s: RunningCycle, stageIndex: number): string {
  return (s.policy.stages[stageIndex] as { scoring: string }).scoring;
}

export function updateRound(s: RunningCycle, key: string, f: (r: RoundRecord) => RoundRecord): RunningCycle {
  const r = s.rounds[key];
  return r ? { ...s, rounds: { ...s.rounds, [key]: f(r) } } : s;
}

export function addSheet(s: RunningCycle, key: string, applicationId: string, scorer: string, scores: Record<string, number>, verdicts: Record<string, Verdict>): RunningCycle {
  return updateRound(s, key, (r) => {
    const row = encodeSheet(s.policy.scoring[r.scoring], scorer, scores, verdicts);
    return { ...r, sheets: { ...r.sheets, [applicationId]: [...(r.sheets[applicationId] ?? []), row] } };
  });
}

export function withDecision(s: RunningCycle, f: (d: DecisionRecord) => DecisionRecord): RunningCycle {
  return s.decision ? { ...s, decision: f(s.decision) } : s;
}

export function withGrant(s: RunningCycle, id: string, f: (g: GrantRecord) => GrantRecord): RunningCycle {
  const g = s.grants[id];
  return g ? { ...s, grants: { ...s.grants, [id]: f(g) } } : s;
}

export function newGrant(s: RunningCycle, id: string, gpus: GrantRecord['gpus'], endsAt: string | null): GrantRecord {
  return { applicationId: id, grantId: grantWorkflowId(s.programSlug, s.year, id), gpus, status: 'pending', startedAt: null, endedAt: null, endsAt, endReason: null };
}
