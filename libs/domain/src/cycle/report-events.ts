/**
 * The facts of a grant's milestones and reports (issue 15, item 5): a report submitted, reviewed,
 * missed, and each consequence of a missing one (cycle/grant-reports.ts decides them).
 */
import type { ReportConsequence } from '../policy/grant-reports-schema';

type Ev<T extends string, D> = { type: T; data: D };
type ReportRef = { applicationId: string; grantId: string; reportId: string; kind: 'milestone' | 'progress' | 'final' };

export type GrantReportSubmitted = Ev<'GrantReportSubmitted', ReportRef & { summary: string; documentUri: string | null; dueAt: string; late: boolean; by: string; at: string }>;
export type GrantReportReviewed = Ev<'GrantReportReviewed', ReportRef & { outcome: 'accepted' | 'changes_requested'; comment: string | null; by: string; at: string }>;
/** The report's due date passed without it (the `report_due` deadline). */
export type GrantReportMissed = Ev<'GrantReportMissed', ReportRef & { dueAt: string; at: string }>;
/**
 * The policy's step `grantReports.onMissing[step]` applied for the missing report: a warning, GPUs
 * throttled or suspended (the grant workflow changes its allocation), or the grant terminated (the
 * team leaves the program and its GPUs are released).
 */
export type GrantReportConsequenceApplied = Ev<
  'GrantReportConsequenceApplied',
  ReportRef & { action: ReportConsequence; step: number; rule: string; after: string; dueAt: string; at: string }
>;

export type GrantReportEvent = GrantReportSubmitted | GrantReportReviewed | GrantReportMissed | GrantReportConsequenceApplied;
