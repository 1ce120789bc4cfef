/**
 * Milestones and reports of a grant (issue 15, item 5), as policy data: what a funded team reports,
 * when (offsets from the grant's start), and what happens, step by step, when a report is missing.
 * Optional, without a schema default: a policy without it runs (and hashes) exactly as before.
 */
import { z } from 'zod';
import type { DomainIssue } from '../shared/errors';
import { isIsoDuration, parseIsoDuration } from '../shared/time';

const duration = z.string().refine(isIsoDuration, 'must be an ISO-8601 duration such as "P30D" or "PT30S"');
const reportId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, "-" or "_"');

/** What a missing report sets off, weakest first: a warning, GPUs throttled, GPUs suspended, the grant terminated. */
export const REPORT_CONSEQUENCES = ['warning', 'throttle', 'suspend', 'terminate'] as const;
export type ReportConsequence = (typeof REPORT_CONSEQUENCES)[number];

export const GrantReportSchema = z.strictObject({
  /** The report's id, unique in the policy (the API's `:reportId`). */
  id: reportId,
  /** A milestone, a progress report, or the final report (at most one). */
  kind: z.enum(['milestone', 'progress', 'final']),
  /** When it is due, counted from the grant's start (an ISO-8601 duration, e.g. "P90D"). */
  dueAfter: duration,
});

export const GrantReportsSchema = z.strictObject({
  reports: z.array(GrantReportSchema).min(1, 'at least one report'),
  /**
   * What a report still missing sets off, in order: each step `after` the due date (durations that
   * never decrease), consequences that never weaken. Absent steps: nothing but the owed entry.
   */
  onMissing: z.array(z.strictObject({ after: duration, action: z.enum(REPORT_CONSEQUENCES) })).default([]),
  /** Whether a report is still taken after its due date (it stops further steps); absent = refused as late. */
  acceptLate: z.boolean().optional(),
  /**
   * When a late report lifts the throttle or suspension it set off (the allocation back to normal):
   * once a program manager accepts it (`on_acceptance`, recommended: the manager checks the report
   * before the GPUs come back), already when the team submits it (`on_submission`), or not at all
   * (`never`, the same as absent). A termination is final and never lifted. Only with `acceptLate`.
   * Absent, without a schema default, so a policy without it decides and hashes exactly as before.
   */
  liftSanction: z.enum(['on_acceptance', 'on_submission', 'never']).optional(),
  /**
   * Whether the reports still outstanding when the cycle closes or is cancelled are recorded
   * (GrantReportsOutstanding). Absent: not recorded, as before (no schema default, same reason).
   */
  recordOutstanding: z.boolean().optional(),
});

export type GrantReportsPolicy = z.infer<typeof GrantReportsSchema>;
export type GrantReportPolicy = z.infer<typeof GrantReportSchema>;

/** A rough length in seconds, to check that steps come in order (months as 30 days, years as 365). */
function roughSeconds(d: string): number {
  const p = parseIsoDuration(d);
  return p.years * 365 * 86400 + p.months * 30 * 86400 + p.weeks * 7 * 86400 + p.days * 86400 + p.hours * 3600 + p.minutes * 60 + p.seconds;
}

/** The rules across fields: unique ids, one final report at most, steps in order and escalating. */
export function crossCheckGrantReports(policy: GrantReportsPolicy | undefined): DomainIssue[] {
  if (!policy) return [];
  const issues: DomainIssue[] = [];
  const seen = new Set<string>();
  policy.reports.forEach((r, i) => {
    if (seen.has(r.id)) issues.push({ field: `grantReports.reports.${i}.id`, reason: `report "${r.id}" appears twice` });
    seen.add(r.id);
  });
  if (policy.reports.filter((r) => r.kind === 'final').length > 1) issues.push({ field: 'grantReports.reports', reason: 'at most one final report' });
  policy.onMissing.forEach((step, i) => {
    if (i === 0) return;
    const before = policy.onMissing[i - 1];
    if (roughSeconds(step.after) < roughSeconds(before.after)) issues.push({ field: `grantReports.onMissing.${i}.after`, reason: 'steps come in order: not before the step above' });
    if (REPORT_CONSEQUENCES.indexOf(step.action) <= REPORT_CONSEQUENCES.indexOf(before.action)) {
      issues.push({ field: `grantReports.onMissing.${i}.action`, reason: `consequences escalate: "${step.action}" must be stronger than "${before.action}"` });
    }
  });
  return issues;
}
