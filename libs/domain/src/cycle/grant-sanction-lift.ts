/**
 * Milestones and reports of a grant (issue 15, item 5), after the fact: a late report lifting the
 * throttle or suspension missing reports set off, and the record of reports still outstanding when
 * the cycle closes. Both are the policy's rules (`grantReports.acceptLate`, `liftSanction`), decided
 * from the state alone.
 */
import type { GrantReportsPolicy } from '../policy/grant-reports-schema';
import type { CycleEvent } from './events';
import type { GrantSanctionLifted, OutstandingReport } from './grant-events';
import { reportsPolicy } from './grant-reports-state';
import type { GrantRecord, GrantReportRecord, RunningCycle } from './state';

type LiftOn = GrantSanctionLifted['data']['on'];

/**
 * When the policy lifts a sanction: `on_acceptance`, `on_submission`, or `never` (also when absent:
 * a policy without the field, such as one a running cycle recorded before it existed, decides as it
 * did then, so a replayed history records the same events).
 */
export function liftOn(policy: GrantReportsPolicy): NonNullable<GrantReportsPolicy['liftSanction']> {
  return policy.liftSanction ?? 'never';
}

/** The throttle or suspension a report still holds: the strongest step applied to it, until it is cleared (by `on`). */
function held(policy: GrantReportsPolicy, r: GrantReportRecord): 'throttle' | 'suspend' | null {
  if (r.steps === 0) return null;
  const cleared = liftOn(policy) === 'on_submission' ? r.status !== 'missed' : r.status === 'accepted';
  if (cleared) return null;
  const action = policy.onMissing[r.steps - 1]?.action;
  return action === 'throttle' || action === 'suspend' ? action : null;
}

/**
 * What clearing `reportId` (its late submission, `on_submission`, or its acceptance, `on_acceptance`)
 * lifts: the grant's throttle or suspension, when this report set off a step and no other report of
 * the grant still holds one. A termination is never lifted (a terminated team submits nothing more).
 */
export function sanctionLift(s: RunningCycle, grant: GrantRecord, reportId: string, on: LiftOn, by: string, at: string): CycleEvent[] {
  const policy = reportsPolicy(s);
  if (!policy?.acceptLate || liftOn(policy) !== on || !grant.reports) return [];
  const sanction = grant.sanction;
  const own = grant.reports[reportId];
  if ((sanction !== 'throttle' && sanction !== 'suspend') || !own || own.steps === 0) return [];
  if (Object.entries(grant.reports).some(([id, r]) => id !== reportId && held(policy, r) !== null)) return [];
  const kind = policy.reports.find((r) => r.id === reportId)!.kind;
  return [{ type: 'GrantSanctionLifted', data: { applicationId: grant.applicationId, grantId: grant.grantId, reportId, kind, lifted: sanction, rule: 'grantReports.liftSanction', on, by, at } }];
}

const OPEN: ReadonlySet<GrantReportRecord['status']> = new Set(['due', 'missed', 'submitted', 'changes_requested']);

/**
 * As the cycle closes or is cancelled (`at`): one record per grant with reports never submitted (due, missed, sent
 * back for changes) or never reviewed (submitted), with where its final report stood; whether or not
 * the team was still in the program. Nothing when the policy asks for no reports.
 */
export function outstandingReports(s: RunningCycle, at: string, ending: 'closed' | 'cancelled' = 'closed'): CycleEvent[] {
  const policy = reportsPolicy(s);
  if (!policy?.recordOutstanding) return [];
  const final = policy.reports.find((r) => r.kind === 'final');
  const events: CycleEvent[] = [];
  for (const g of Object.values(s.grants)) {
    if (!g.reports) continue;
    const reports: OutstandingReport[] = policy.reports
      .filter((entry) => g.reports![entry.id] && OPEN.has(g.reports![entry.id].status))
      .map((entry) => ({ reportId: entry.id, kind: entry.kind, status: g.reports![entry.id].status as OutstandingReport['status'], dueAt: g.reports![entry.id].dueAt }));
    if (reports.length === 0) continue;
    const finalReport = final && g.reports[final.id] ? { reportId: final.id, status: g.reports[final.id].status } : null;
    events.push({ type: 'GrantReportsOutstanding', data: { applicationId: g.applicationId, grantId: g.grantId, ending, teamStatus: s.applications[g.applicationId]?.status ?? 'unknown', reports, finalReport, at } });
  }
  return events;
}
