/**
 * Milestones and reports of a grant (issue 15, item 5), the state side: each started grant's
 * reports scheduled from the policy (offsets from the grant's start), folded from their events, the
 * next instant the cycle must wake for (`report_due`: a due date, or a step of what a missing report
 * sets off), what is owed, and which running grants must be throttled or suspended.
 * A policy without `grantReports` changes nothing here: no schedule, no deadline.
 */
import type { GrantReportPolicy, GrantReportsPolicy, ReportConsequence } from '../policy/grant-reports-schema';
import { REPORT_CONSEQUENCES } from '../policy/grant-reports-schema';
import { addDuration, compareInstants } from '../shared/time';
import type { CycleEvent } from './events';
import type { GrantEvent } from './grant-events';
import type { GrantRecord, GrantReportRecord, RunningCycle } from './state';
import { setStatus, withGrant } from './state-updates';

export function reportsPolicy(s: RunningCycle): GrantReportsPolicy | undefined {
  return s.policy.grantReports;
}

/** A grant whose reports are still followed: scheduled, its team still in the program. */
export function followed(s: RunningCycle, g: GrantRecord): g is GrantRecord & { reports: Record<string, GrantReportRecord> } {
  return !!g.reports && s.applications[g.applicationId]?.status === 'active';
}

/**
 * When a report next needs the cycle: its due date while due, the next step of `onMissing` once
 * missed; null when nothing more happens to it (submitted, reviewed, every step applied).
 */
export function nextReportInstant(policy: GrantReportsPolicy, r: GrantReportRecord): string | null {
  if (r.status === 'due') return r.dueAt;
  if (r.status === 'missed' && r.steps < policy.onMissing.length) return addDuration(r.dueAt, policy.onMissing[r.steps].after);
  return null;
}

/** Recomputes the `report_due` deadline: the earliest instant any followed grant's report needs. */
function withReportDeadline(s: RunningCycle): RunningCycle {
  const policy = reportsPolicy(s);
  if (!policy || s.stage === 'closed' || s.stage === 'cancelled') return s;
  let next: string | null = null;
  for (const g of Object.values(s.grants)) {
    if (!followed(s, g)) continue;
    for (const r of Object.values(g.reports)) {
      const at = nextReportInstant(policy, r);
      if (at && (next === null || compareInstants(at, next) < 0)) next = at;
    }
  }
  if ((s.deadlines.report_due ?? null) === next) return s;
  const { report_due: _old, ...rest } = s.deadlines;
  return { ...s, deadlines: next ? { ...rest, report_due: next } : rest };
}

/** After every event of a cycle whose policy has reports: a started grant gets its schedule, and the deadline follows. */
export function withGrantReports(s: RunningCycle, event: CycleEvent): RunningCycle {
  const policy = reportsPolicy(s);
  if (!policy) return s;
  if (event.type === 'GrantStarted' && s.grants[event.data.applicationId] && !s.grants[event.data.applicationId].reports) {
    const startedAt = event.data.startedAt;
    const reports = Object.fromEntries(policy.reports.map((r) => [r.id, { dueAt: addDuration(startedAt, r.dueAfter), status: 'due' as const, steps: 0 }]));
    return withReportDeadline(withGrant(s, event.data.applicationId, (g) => ({ ...g, reports })));
  }
  return withReportDeadline(s);
}

const stronger = (a: ReportConsequence | undefined, b: ReportConsequence): ReportConsequence =>
  a && REPORT_CONSEQUENCES.indexOf(a) >= REPORT_CONSEQUENCES.indexOf(b) ? a : b;

const GRANT_EVENTS: ReadonlySet<string> = new Set<GrantEvent['type']>([
  'GrantReportSubmitted',
  'GrantReportReviewed',
  'GrantReportMissed',
  'GrantReportConsequenceApplied',
  'GrantSanctionLifted',
  'GrantReportsOutstanding',
  'GrantChangeRefused',
]);

/** A fact of a running grant (grant-events.ts), folded here rather than in evolve.ts. */
export function isGrantEvent(event: CycleEvent): event is GrantEvent {
  return GRANT_EVENTS.has(event.type);
}

export function evolveGrantEvent(s: RunningCycle, event: GrantEvent): RunningCycle {
  // The escalation that follows a refusal is what the state keeps; an outstanding record closes nothing more.
  if (event.type === 'GrantChangeRefused' || event.type === 'GrantReportsOutstanding') return s;
  const d = event.data;
  const report = (g: GrantRecord, f: (r: GrantReportRecord) => GrantReportRecord): GrantRecord =>
    g.reports?.[d.reportId] ? { ...g, reports: { ...g.reports, [d.reportId]: f(g.reports[d.reportId]) } } : g;
  switch (event.type) {
    case 'GrantReportSubmitted':
      return withGrant(s, d.applicationId, (g) => report(g, (r) => ({ ...r, status: 'submitted' })));
    case 'GrantReportReviewed':
      return withGrant(s, d.applicationId, (g) => report(g, (r) => ({ ...r, status: event.data.outcome })));
    case 'GrantReportMissed':
      return withGrant(s, d.applicationId, (g) => report(g, (r) => ({ ...r, status: 'missed' })));
    case 'GrantReportConsequenceApplied': {
      const { action, step } = event.data;
      const next = withGrant(s, d.applicationId, (g) => ({ ...report(g, (r) => ({ ...r, steps: step + 1 })), sanction: stronger(g.sanction, action) }));
      // Terminated: the team leaves the program; its grant is released like an eliminated team's.
      return action === 'terminate' ? setStatus(next, [d.applicationId], 'eliminated') : next;
    }
    case 'GrantSanctionLifted':
      // Back to normal: no throttle or suspension, the report that lifted it named for the allocation's key.
      return withGrant(s, d.applicationId, ({ sanction: _lifted, ...g }) => ({ ...g, liftedBy: d.reportId }));
    default: {
      const never: never = event;
      throw new Error(`unknown report event ${String((never as { type: string }).type)}`);
    }
  }
}

/** The policy's entry for a report id, if any. */
export function reportOf(s: RunningCycle, reportId: unknown): GrantReportPolicy | undefined {
  return reportsPolicy(s)?.reports.find((r) => r.id === reportId);
}

/** Running grants whose throttle or suspension a late report lifted: the grant workflow puts its allocation back to normal (key per report). */
export function grantsToRestore(s: RunningCycle): Array<{ applicationId: string; grantId: string; reportId: string }> {
  return Object.values(s.grants)
    .filter((g) => g.status === 'active' && g.liftedBy !== undefined && (g.sanction === undefined || g.sanction === 'warning') && s.applications[g.applicationId]?.status === 'active')
    .map((g) => ({ applicationId: g.applicationId, grantId: g.grantId, reportId: g.liftedBy! }));
}

/** Running grants a missing report has throttled or suspended: the grant workflow changes its allocation to this mode. */
export function grantsToSanction(s: RunningCycle): Array<{ applicationId: string; grantId: string; mode: 'throttled' | 'suspended' }> {
  return Object.values(s.grants)
    .filter((g) => g.status === 'active' && (g.sanction === 'throttle' || g.sanction === 'suspend') && s.applications[g.applicationId]?.status === 'active')
    .map((g) => ({ applicationId: g.applicationId, grantId: g.grantId, mode: g.sanction === 'throttle' ? 'throttled' : 'suspended' }));
}
