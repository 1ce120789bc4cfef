/**
 * Milestones and reports of a grant (issue 15, item 5), the decisions: a team submits a report, a
 * program manager reviews it, and when the `report_due` deadline passes, each report due by then is
 * missed and each step of the policy's `onMissing` that fell due is applied (warning, throttle,
 * suspension, termination), one event each, naming the rule and the report.
 */
import { fail } from '../shared/errors';
import { addDuration, isAtOrAfter } from '../shared/time';
import type { Actor, ReviewGrantReport, SubmitGrantReport } from './commands';
import type { CycleEvent } from './events';
import { requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireText } from './guards';
import type { Owed } from './obligations';
import { followed, reportOf, reportsPolicy } from './grant-reports-state';
import { sanctionLift } from './grant-sanction-lift';
import type { CycleState, GrantRecord, GrantReportRecord, RunningCycle } from './state';

/** The grant, its report record and the policy's entry, or the reason the command is refused. */
function requireReport(s: RunningCycle, data: { applicationId: unknown; reportId: unknown }, actor: Actor) {
  if (!reportsPolicy(s)) fail('invalid_state', "this program's policy asks for no grant reports", 'reportId');
  const app = requireApplication(s, data.applicationId);
  requireLeadOrganisation(actor, app);
  const entry = reportOf(s, data.reportId);
  if (!entry) fail('not_found', `no report "${String(data.reportId)}" in this program's policy`, 'reportId');
  const grant: GrantRecord | undefined = s.grants[app.applicationId];
  const record = grant?.reports?.[entry.id];
  if (!grant || !record) fail('invalid_state', `the grant of "${app.applicationId}" has not started: no report is due yet`, 'applicationId');
  if (app.status !== 'active') fail('invalid_state', `"${app.applicationId}" is no longer in the program (${app.status})`, 'applicationId');
  return { grant, record, entry };
}

export function submitGrantReport(state: CycleState, cmd: SubmitGrantReport, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const { grant, record, entry } = requireReport(s, cmd.data, cmd.actor);
  const summary = requireText(cmd.data.summary, 'summary');
  if (cmd.data.documentUri !== undefined) requireText(cmd.data.documentUri, 'documentUri');
  if (record.status === 'submitted' || record.status === 'accepted') fail('duplicate', `report "${entry.id}" was already submitted (${record.status})`, 'reportId');
  if (record.status === 'missed' && !reportsPolicy(s)!.acceptLate) fail('deadline_passed', `report "${entry.id}" was due by ${record.dueAt}; the policy takes no late reports`, 'reportId');
  const ref = { applicationId: grant.applicationId, grantId: grant.grantId, reportId: entry.id, kind: entry.kind };
  const late = record.status === 'missed';
  return [
    { type: 'GrantReportSubmitted', data: { ...ref, summary, documentUri: cmd.data.documentUri ?? null, dueAt: record.dueAt, late, by: cmd.actor.subject, at: now } },
    ...(late ? sanctionLift(s, grant, entry.id, 'on_submission', cmd.actor.subject, now) : []),
  ];
}

export function reviewGrantReport(state: CycleState, cmd: ReviewGrantReport, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const { grant, record, entry } = requireReport(s, cmd.data, cmd.actor);
  const { outcome } = cmd.data;
  if (outcome !== 'accepted' && outcome !== 'changes_requested') fail('validation_failed', 'must be "accepted" or "changes_requested"', 'outcome');
  if (outcome === 'changes_requested') requireText(cmd.data.comment, 'comment');
  if (record.status !== 'submitted') fail('invalid_state', `report "${entry.id}" awaits no review (it is ${record.status.replace('_', ' ')})`, 'reportId');
  const ref = { applicationId: grant.applicationId, grantId: grant.grantId, reportId: entry.id, kind: entry.kind };
  return [
    { type: 'GrantReportReviewed', data: { ...ref, outcome, comment: cmd.data.comment ?? null, by: cmd.actor.subject, at: now } },
    ...(outcome === 'accepted' ? sanctionLift(s, grant, entry.id, 'on_acceptance', cmd.actor.subject, now) : []),
  ];
}

/**
 * The `report_due` deadline passed at `at` (its own instant): every report due by then and not in
 * is missed, and every step of `onMissing` due by then is applied, in order; a termination ends the
 * grant's reports. Only instants in the state are compared, never the clock.
 */
export function reportDeadlinePassed(s: RunningCycle, at: string): CycleEvent[] {
  const policy = reportsPolicy(s)!;
  const events: CycleEvent[] = [];
  for (const g of Object.values(s.grants)) {
    if (!followed(s, g)) continue;
    grant: for (const entry of policy.reports) {
      const r: GrantReportRecord | undefined = g.reports[entry.id];
      if (!r) continue;
      const ref = { applicationId: g.applicationId, grantId: g.grantId, reportId: entry.id, kind: entry.kind };
      let missed = r.status === 'missed';
      if (r.status === 'due' && isAtOrAfter(at, r.dueAt)) {
        events.push({ type: 'GrantReportMissed', data: { ...ref, dueAt: r.dueAt, at } });
        missed = true;
      }
      for (let step = r.steps; missed && step < policy.onMissing.length; step++) {
        const { after, action } = policy.onMissing[step];
        if (!isAtOrAfter(at, addDuration(r.dueAt, after))) break;
        events.push({ type: 'GrantReportConsequenceApplied', data: { ...ref, action, step, rule: `grantReports.onMissing[${step}]`, after, dueAt: r.dueAt, at } });
        if (action === 'terminate') break grant;
      }
    }
  }
  return events;
}

/** Who owes what of the grants' reports: the teams their reports (by the due date), the program managers their reviews. */
export function reportsOwed(s: RunningCycle): Owed[] {
  const policy = reportsPolicy(s);
  if (!policy) return [];
  const out: Owed[] = [];
  for (const g of Object.values(s.grants)) {
    if (!followed(s, g)) continue;
    for (const [reportId, r] of Object.entries(g.reports)) {
      const team = { role: 'applicant' as const, organisationId: s.applications[g.applicationId].lead };
      const item = { applicationId: g.applicationId, reportId };
      if (r.status === 'due' || (r.status === 'missed' && policy.acceptLate)) out.push({ who: team, what: 'grant_report', ...item, dueAt: r.dueAt, deadline: 'report_due' });
      else if (r.status === 'changes_requested') out.push({ who: team, what: 'grant_report', ...item, dueAt: null, deadline: null });
      else if (r.status === 'submitted') out.push({ who: { role: 'program_manager' }, what: 'grant_report_review', ...item, dueAt: null, deadline: null });
    }
  }
  return out;
}

/** The clock's part (admit): a report still due is refused once its due date has passed, unless the policy takes late reports. */
export function reportDueFor(s: RunningCycle, data: { applicationId?: unknown; reportId?: unknown }): { at: string; what: string } | null {
  const policy = reportsPolicy(s);
  if (!policy || policy.acceptLate || typeof data.applicationId !== 'string' || !Object.hasOwn(s.grants, data.applicationId)) return null;
  const r = s.grants[data.applicationId].reports?.[String(data.reportId)];
  return r && r.status === 'due' ? { at: r.dueAt, what: `the report "${String(data.reportId)}"` } : null;
}
