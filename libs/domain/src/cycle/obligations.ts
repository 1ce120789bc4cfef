/**
 * Pure reads the workflow needs between commands: the next timer, who owes what by when, the
 * reminders to send, and which grant child workflows to start or stop.
 */
import { addDuration, compareInstants, isBefore } from '../shared/time';
import type { GpuAllocation } from '../policy/schema';
import type { Role } from './commands';
import { DEADLINE_KINDS, type DeadlineKind } from './deadlines';
import { liveInRound } from './pipeline';
import { assignedTo } from './assignment-state';
import { peerReviewsOwed } from './peer-review';
import { hasSheetBy, sheetCount } from './sheets';
import type { CycleState, RoundRecord, RunningCycle } from './state';
import { reportsOwed } from './grant-reports';

export function nextDeadline(state: CycleState): { at: string; deadline: DeadlineKind } | null {
  if (state.stage === 'not_started' || state.stage === 'closed' || state.stage === 'cancelled') return null;
  let best: { at: string; deadline: DeadlineKind } | null = null;
  // DEADLINE_KINDS order settles equal times, so the choice never depends on object key order.
  for (const kind of DEADLINE_KINDS) {
    const at = state.deadlines[kind];
    if (at && (!best || isBefore(at, best.at))) best = { at, deadline: kind };
  }
  return best;
}

export type OwedWhat =
  | 'review'
  /** An applicant's review of another application (peer review, issue 15); `applicationId` is the one to review. */
  | 'peer_review'
  | 'model_submission'
  | 'evaluation_scores'
  | 'selection_approval'
  | 'narrowing_approval'
  | 'refill_selection'
  | 'objection_response'
  | 'objection_decision'
  | 'procurement_contract'
  | 'release_declaration'
  /** GPUs the pool owes a grant it refused or served in part, while the grant asks again. */
  | 'gpu_capacity'
  /** A grant refused for good (or not retried): the program manager decides (another amount, or nothing). */
  | 'gpu_decision'
  /** A grant report (issue 15): the team owes it, then the program managers owe its review. */
  | 'grant_report'
  | 'grant_report_review';

export interface Recipient {
  role: Role;
  subject?: string;
  organisationId?: string;
}

export interface Owed {
  who: Recipient;
  what: OwedWhat;
  applicationId: string | null;
  /** Null when the timer was held after an escalation: still owed, no date. */
  dueAt: string | null;
  deadline: DeadlineKind | null;
  /** Which grant report is owed (`grant_report`, `grant_report_review`); absent otherwise. */
  reportId?: string;
}

const PM: Recipient = { role: 'program_manager' };
/** The GPU pool, as the party that owes capacity to a waiting grant. */
const POOL: Recipient = { role: 'system', subject: 'gpu-pool' };

/** A named panel member declared a conflict, or their organisation is in the consortium (worked out by evolve). */
function conflicted(s: RunningCycle, subject: string, applicationId: string): boolean {
  return s.conflicts.some((c) => c.scorer === subject && c.applicationId === applicationId) || !!s.applications[applicationId]?.conflicted?.includes(subject);
}

/** Scores still owed in a round: per panel member, or per application short of the minimum when no panel is named. */
function scoresOwed(s: RunningCycle, round: RoundRecord, teams: string[], what: OwedWhat, deadline: DeadlineKind): Owed[] {
  const panel = round.kind === 'evaluation' && s.panel.evaluators.length > 0 ? s.panel.evaluators : s.panel.reviewers;
  const role: Role = round.kind === 'evaluation' && s.panel.evaluators.length > 0 ? 'evaluator' : 'reviewer';
  const dueAt = s.deadlines[deadline] ?? null;
  if (panel.length === 0) {
    const min = s.policy.scoring[round.scoring].minimumScoresPerApplication;
    return teams.filter((id) => sheetCount(round, id) < min).map((id) => ({ who: { role }, what, applicationId: id, dueAt, deadline }));
  }
  const out: Owed[] = [];
  for (const p of panel) {
    for (const id of teams) {
      if (hasSheetBy(round, id, p.subject) || conflicted(s, p.subject, id)) continue;
      // Reviewer assignment (issue 15): only the assigned owe a review (and are reminded of it).
      if (round.assigned && !assignedTo(s, round, id).includes(p.subject)) continue;
      out.push({ who: { role, subject: p.subject, ...(p.organisationId ? { organisationId: p.organisationId } : {}) }, what, applicationId: id, dueAt, deadline });
    }
  }
  return out;
}

function applicant(s: RunningCycle, id: string): Recipient {
  return { role: 'applicant', organisationId: s.applications[id].lead };
}

export function owed(state: CycleState): Owed[] {
  if (state.stage === 'not_started' || state.stage === 'closed' || state.stage === 'cancelled') return [];
  const s = state;
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  const out: Owed[] = [];
  if (round && !round.closed && round.dueAt) {
    if (round.kind === 'evaluation') {
      const teams = liveInRound(s, round);
      if (!round.submissionsClosed) {
        for (const id of teams.filter((t) => !round.submissions[t])) {
          out.push({ who: applicant(s, id), what: 'model_submission', applicationId: id, dueAt: s.deadlines.evaluation_submission_due ?? null, deadline: 'evaluation_submission_due' });
        }
      }
      out.push(...scoresOwed(s, round, teams.filter((t) => round.submissions[t]), 'evaluation_scores', 'evaluation_scoring_due'));
    } else {
      out.push(...scoresOwed(s, round, liveInRound(s, round), 'review', round.kind === 'refill' ? 'refill_review_due' : 'review_due'));
      for (const id of round.peers ? liveInRound(s, round) : []) {
        for (const t of peerReviewsOwed(s, round, id)) out.push({ who: applicant(s, id), what: 'peer_review', applicationId: t, dueAt: s.deadlines.review_due ?? null, deadline: 'review_due' });
      }
    }
  }
  const dec = s.decision;
  if (dec && !dec.outcome && (s.stage === 'selection' || s.stage === 'narrowing')) {
    const deadline: DeadlineKind = dec.kind === 'selection' ? 'selection_approval_due' : 'narrowing_approval_due';
    out.push({ who: PM, what: dec.kind === 'selection' ? 'selection_approval' : 'narrowing_approval', applicationId: null, dueAt: s.deadlines[deadline] ?? null, deadline });
  }
  if (dec?.outcome && s.stage === 'objection') {
    if (!dec.windowClosed) {
      for (const id of dec.outcome.dropped.filter((t) => !dec.objections[t])) {
        out.push({ who: applicant(s, id), what: 'objection_response', applicationId: id, dueAt: dec.objectionWindowEndsAt, deadline: 'objection_window_end' });
      }
    }
    for (const [id, o] of Object.entries(dec.objections)) {
      if (o.status === 'filed') out.push({ who: PM, what: 'objection_decision', applicationId: id, dueAt: s.deadlines.objection_decision_due ?? null, deadline: 'objection_decision_due' });
    }
  }
  if (s.stage === 'refill' && s.refill?.phase === 'selection' && s.refill.proposal) {
    out.push({ who: PM, what: 'refill_selection', applicationId: null, dueAt: s.deadlines.refill_approval_due ?? null, deadline: 'refill_approval_due' });
  }
  for (const g of Object.values(s.grants)) {
    if (!g.withheld || g.status === 'ended' || s.applications[g.applicationId]?.status !== 'active') continue;
    out.push({ who: g.withheld.retrying ? POOL : PM, what: g.withheld.retrying ? 'gpu_capacity' : 'gpu_decision', applicationId: g.applicationId, dueAt: g.withheld.until, deadline: null });
  }
  out.push(...reportsOwed(s));
  if (s.stage === 'procurement' && s.procurement) {
    const p = s.procurement;
    for (const id of p.finalists.filter((f) => s.applications[f]?.status === 'active')) {
      if (!Object.values(p.contracts).includes(id)) {
        out.push({ who: PM, what: 'procurement_contract', applicationId: id, dueAt: s.deadlines.procurement_contracts_due ?? null, deadline: 'procurement_contracts_due' });
      }
      if (!p.released.includes(id)) out.push({ who: applicant(s, id), what: 'release_declaration', applicationId: id, dueAt: s.deadlines.release_due ?? null, deadline: 'release_due' });
    }
  }
  return out;
}

export interface Reminder {
  /** Deterministic notification id: the outbox dedupes on it, so a replayed or retried send happens once. */
  key: string;
  at: string;
  offset: string;
  deadline: DeadlineKind;
  dueAt: string;
  recipient: Recipient;
  items: Array<{ what: OwedWhat; applicationId: string | null; reportId?: string }>;
}

function recipientKey(r: Recipient): string {
  return [r.role, r.subject ?? '', r.organisationId ?? ''].join('/');
}

/** Every reminder for what is owed now, one per recipient, deadline and offset, sorted by time. */
export function plannedReminders(state: CycleState): Reminder[] {
  if (state.stage === 'not_started') return [];
  const byKey = new Map<string, Reminder>();
  for (const o of owed(state)) {
    if (!o.dueAt || !o.deadline) continue;
    for (const offset of state.policy.reminders.before) {
      const key = `${state.cycleId}:reminder:${o.deadline}:${o.dueAt}:${offset}:${recipientKey(o.who)}`;
      const existing = byKey.get(key);
      const item = { what: o.what, applicationId: o.applicationId, ...(o.reportId ? { reportId: o.reportId } : {}) };
      if (existing) existing.items.push(item);
      else byKey.set(key, { key, at: addDuration(o.dueAt, offset, -1), offset, deadline: o.deadline, dueAt: o.dueAt, recipient: o.who, items: [item] });
    }
  }
  return [...byKey.values()].sort((a, b) => compareInstants(a.at, b.at) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/**
 * Reminders whose time came in (since, now]: the workflow passes the time of its previous check as
 * `since`, so reminders that fell due before an obligation existed are not sent late. Without
 * bounds: every planned reminder.
 */
export function remindersDue(state: CycleState, now?: string, since?: string): Reminder[] {
  return plannedReminders(state).filter((r) => (since === undefined || isBefore(since, r.at)) && (now === undefined || !isBefore(now, r.at)));
}

/** When the workflow should next wake for a reminder (null if none is planned after `after`). */
export function nextReminderAt(state: CycleState, after: string): string | null {
  return plannedReminders(state).find((r) => isBefore(after, r.at))?.at ?? null;
}

export interface GrantToStart {
  applicationId: string;
  /** Child workflow id: grant:<program>:<year>:<team>. */
  grantId: string;
  organisationId: string;
  gpus: GpuAllocation[];
  endsAt: string | null;
}

export interface GrantToRelease {
  applicationId: string;
  grantId: string;
  /** A pending grant may never have been started: the workflow records it ended without starting a child. */
  status: 'pending' | 'active';
  reason: 'withdrawn' | 'eliminated' | 'not_selected' | 'cancelled' | 'completed' | 'terminated';
}

export function grantsToStart(state: CycleState): GrantToStart[] {
  if (state.stage === 'not_started' || state.stage === 'closed' || state.stage === 'cancelled' || state.stage === 'procurement') return [];
  return Object.values(state.grants)
    .filter((g) => g.status === 'pending' && state.applications[g.applicationId]?.status === 'active')
    .map((g) => ({ applicationId: g.applicationId, grantId: g.grantId, organisationId: state.applications[g.applicationId].lead, gpus: g.gpus, endsAt: g.endsAt }));
}

export function grantsToRelease(state: CycleState): GrantToRelease[] {
  if (state.stage === 'not_started') return [];
  const out: GrantToRelease[] = [];
  for (const g of Object.values(state.grants)) {
    if (g.status === 'ended') continue;
    const status = state.applications[g.applicationId]?.status;
    let reason: GrantToRelease['reason'] | null = null;
    if (state.stage === 'cancelled') reason = 'cancelled';
    else if (g.sanction === 'terminate') reason = 'terminated';
    else if (status === 'withdrawn') reason = 'withdrawn';
    else if (status === 'eliminated') reason = 'eliminated';
    else if (status !== 'active') reason = 'not_selected';
    else if (state.stage === 'procurement' || state.stage === 'closed') reason = 'completed';
    if (reason) out.push({ applicationId: g.applicationId, grantId: g.grantId, status: g.status, reason });
  }
  return out;
}

/** A cycle is over once it is closed or cancelled and every grant has given its GPUs back. */
export function isCycleOver(state: CycleState): boolean {
  if (state.stage !== 'closed' && state.stage !== 'cancelled') return false;
  return Object.values(state.grants).every((g) => g.status === 'ended');
}

/**
 * GPUs freed by a team that left mid-program (withdrawn or eliminated), split evenly among the
 * grants still running, the remainder one by one in grant-id order. Other endings free nothing to share.
 */
export function shareFreedGpus(state: CycleState, from: { grantId: string; reason: string; count: number }): Array<{ grantId: string; count: number }> {
  if (state.stage === 'not_started' || state.stage === 'closed' || state.stage === 'cancelled') return [];
  if (from.reason !== 'withdrawn' && from.reason !== 'eliminated') return [];
  const remaining = Object.values(state.grants)
    .filter((g) => g.grantId !== from.grantId && g.status === 'active' && state.applications[g.applicationId]?.status === 'active')
    .map((g) => g.grantId)
    .sort();
  return remaining
    .map((grantId, i) => ({ grantId, count: Math.floor(from.count / remaining.length) + (i < from.count % remaining.length ? 1 : 0) }))
    .filter((share) => share.count > 0);
}
