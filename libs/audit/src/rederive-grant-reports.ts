/**
 * Issue 15, milestones and reports of a grant, for the auditor's `rederive`: each recorded fact the
 * policy's rules produced (a missed report, a consequence, a lifted sanction, the reports left
 * outstanding at the close) derived again with the domain's own rule from the state just before it.
 */
import { outstandingReports, reportDeadlinePassed, sanctionLift, type CycleEvent, type RunningCycle } from '@concentra/domain';

type ReportFact = Extract<CycleEvent, { type: 'GrantReportMissed' | 'GrantReportConsequenceApplied' | 'GrantSanctionLifted' | 'GrantReportsOutstanding' }>;

/** The decision key and the event the domain derives again (undefined: it derives nothing where one was recorded). */
export function rederiveReportFact(s: RunningCycle, event: ReportFact): { key: string; again: CycleEvent | undefined } {
  const d = event.data;
  switch (event.type) {
    case 'GrantReportMissed':
      return { key: `${d.applicationId}:report:${event.data.reportId}:missed`, again: reportDeadlinePassed(s, event.data.at)[0] };
    case 'GrantReportConsequenceApplied':
      return { key: `${d.applicationId}:report:${event.data.reportId}:${event.data.action}`, again: reportDeadlinePassed(s, event.data.at)[0] };
    case 'GrantSanctionLifted': {
      // From the state after the report's submission or acceptance, which set it off.
      const { reportId, on, by, at } = event.data;
      const grant = s.grants[d.applicationId];
      return { key: `${d.applicationId}:report:${reportId}:lifted`, again: grant ? sanctionLift(s, grant, reportId, on, by, at)[0] : undefined };
    }
    case 'GrantReportsOutstanding':
      return { key: `${d.applicationId}:reports-outstanding`, again: outstandingReports(s, event.data.at, event.data.ending).find((x) => (x.data as { applicationId: string }).applicationId === d.applicationId) };
    default: {
      const never: never = event;
      throw new Error(`unknown report fact ${String((never as { type: string }).type)}`);
    }
  }
}
