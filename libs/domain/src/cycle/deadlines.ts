/** Every timer a cycle can wait on. The workflow sleeps until one and sends DeadlinePassed with its kind. */
export const DEADLINE_KINDS = [
  'call_cutoff',
  'call_close',
  'review_due',
  'selection_approval_due',
  'grant_period_end',
  'evaluation_submission_due',
  'evaluation_scoring_due',
  'narrowing_approval_due',
  'objection_notice_due',
  'objection_window_end',
  'objection_decision_due',
  'extension_end',
  'refill_close',
  'refill_review_due',
  'refill_approval_due',
  'procurement_contracts_due',
  'release_due',
  /** The next due date of a grant report, or step of what a missing one sets off (issue 15; policy `grantReports`). */
  'report_due',
] as const;

export type DeadlineKind = (typeof DEADLINE_KINDS)[number];
