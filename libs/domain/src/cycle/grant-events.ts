/**
 * Facts of a running grant: its milestones and reports (issue 15, item 5: a report submitted,
 * reviewed, missed, and each consequence of a missing one; cycle/grant-reports.ts decides them), and
 * a change the GPU ledger refused for good (cycle/ledger-refusal.ts).
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

/**
 * A late report lifted the throttle or suspension missing reports had set off (policy
 * `grantReports.liftSanction`): accepted by `by` (or submitted by the team, `on_submission`), with no
 * other report still holding one; the grant's allocation goes back to normal. Never a termination.
 */
export type GrantSanctionLifted = Ev<
  'GrantSanctionLifted',
  ReportRef & { lifted: 'throttle' | 'suspend'; rule: 'grantReports.liftSanction'; on: 'on_acceptance' | 'on_submission'; by: string; at: string }
>;
/** A report as it stood when the cycle ended: never submitted (due, missed, sent back) or never reviewed (submitted). */
export type OutstandingReport = { reportId: string; kind: ReportRef['kind']; status: 'due' | 'missed' | 'submitted' | 'changes_requested'; dueAt: string };
/**
 * The cycle ended (`closed`, or `cancelled` by a program manager) with reports of this grant still
 * outstanding (issue 15): each listed with where it stood, and the final report's status (null when
 * the policy asks for none), so nothing owed is dropped without a record. `teamStatus` says whether
 * the team was still in the program.
 */
export type GrantReportsOutstanding = Ev<
  'GrantReportsOutstanding',
  { applicationId: string; grantId: string; ending: 'closed' | 'cancelled'; teamStatus: string; reports: OutstandingReport[]; finalReport: { reportId: string; status: string } | null; at: string }
>;

export type GrantReportEvent = GrantReportSubmitted | GrantReportReviewed | GrantReportMissed | GrantReportConsequenceApplied | GrantSanctionLifted | GrantReportsOutstanding;

/**
 * The GPU ledger refused a change of a running grant for good (a non-retryable refusal: bad input, no
 * live allocation, a reused key): the grant goes on with its allocation as it was, and the program
 * managers are told (an EscalationRaised `ledger_refusal` follows).
 */
export type GrantChangeRefused = Ev<'GrantChangeRefused', { applicationId: string; grantId: string; change: string; code: string; message: string; at: string }>;

export type GrantEvent = GrantReportEvent | GrantChangeRefused;
/** Escalations raised for a running grant. */
export type GrantEscalationReason = 'ledger_refusal';
