/**
 * The policy document: everything a program manager decides about a program, as plain JSON.
 * Numbers, durations and rules live here so that changing a program never needs a code change.
 * Objects are strict so that a misspelt field is reported instead of silently ignored.
 */
import { z } from 'zod';
import { isIsoDuration, isIsoInstant } from '../shared/time';
import { FundingPoolsSchema } from './funding-pools';
import { GrantReportsSchema } from './grant-reports-schema';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, "-" or "_"');
const text = z.string().trim().min(1, 'must not be empty');
const count = z.number().int('must be a whole number').min(0, 'must not be negative');
const positive = z.number().int('must be a whole number').min(1, 'must be at least 1');

/** An ISO-8601 duration such as "P30D", "P6M" or "PT30S". */
export const DurationSchema = z.string().refine(isIsoDuration, 'must be an ISO-8601 duration such as "P30D" or "PT30S"');

/** Days as a number, an ISO duration from the stage start, or a fixed ISO date-time. */
export const DueSchema = z.union([
  z.number().positive('must be a positive number of days'),
  z.string().refine((s) => isIsoDuration(s) || isIsoInstant(s), 'must be days, an ISO-8601 duration ("P30D") or an ISO date-time'),
]);

export const ApprovalTimeoutSchema = z.enum(['apply_ranking', 'hold_and_escalate']);

export const CallClosingSchema = z.strictObject({
  /** The final deadline: always present. */
  deadline: DueSchema,
  /** Periodic cut-offs: at each, the call closes if enough applications are in. */
  cutoffEvery: DurationSchema.optional(),
  minApplicationsAtCutoff: positive.optional(),
  /** Close as soon as this many applications are in (whichever comes first). */
  afterApplications: positive.optional(),
});

export const EligibilitySchema = z.strictObject({
  /** Organisation types allowed anywhere in an application (lead or member); empty = any. */
  allowedOrganisationTypes: z.array(id).default([]),
  /** Organisation types allowed to lead; empty = any allowed type. */
  allowedLeadTypes: z.array(id).default([]),
  /** Each listed type must appear at least once among lead and members, e.g. "university". */
  requiredMemberTypes: z.array(id).default([]),
  oneApplicationPerLeadOrganisation: z.boolean().default(true),
  maxMembers: count.optional(),
});

export const CallStageSchema = z.strictObject({
  kind: z.literal('call'),
  name: text.default('Call for applications'),
  closing: CallClosingSchema,
  eligibility: EligibilitySchema.default({
    allowedOrganisationTypes: [],
    allowedLeadTypes: [],
    requiredMemberTypes: [],
    oneApplicationPerLeadOrganisation: true,
  }),
});

/**
 * Reviewer assignment (issue 15, item 1): when the round opens, each application gets
 * `reviewersPerApplication` reviewers from the named panel, none conflicted (same organisation,
 * consortium member, declared conflict, a recent collaboration listed here), nobody above
 * `maxPerReviewer`, loads balanced; only assigned reviewers may score. Absent = every panel reviewer may score.
 */
export const ReviewerAssignmentSchema = z.strictObject({
  reviewersPerApplication: positive,
  maxPerReviewer: positive,
  /** `prefer`: a reviewer whose expertise tags meet the application's topics goes first; `require`: only those. */
  expertise: z.enum(['prefer', 'require']).default('prefer'),
  /** Organisations that worked together recently: a reviewer from one does not review an application involving the other. */
  recentCollaborations: z.array(z.strictObject({ organisations: z.array(text).length(2, 'two organisation ids') })).default([]),
});

/**
 * Distributed peer review (issue 15, item 2): when the round opens, each applicant in it is assigned
 * `perApplicant` other applications of the same round to review (never its own, never one that shares
 * an organisation with it); its reviews count `weight` times a panel review in the means. An applicant
 * that has not submitted all of them when the round closes meets `onMissedReviews`: `none` (recorded
 * only), `reject_own_application` (its application is dropped from the round), or
 * `{ penalty: points }` (taken off its own total). Absent = applicants do not review.
 */
export const PeerReviewSchema = z.strictObject({
  perApplicant: positive,
  weight: z.number().gt(0, 'must be above 0').max(10, 'must be at most 10'),
  onMissedReviews: z.union([z.enum(['none', 'reject_own_application']), z.strictObject({ penalty: z.number().positive('must be a positive number of points') })]),
});

export const ReviewStageSchema = z.strictObject({
  kind: z.literal('review'),
  name: text,
  duration: DueSchema,
  /** Which scoring scheme (key of `scoring`) reviewers use. */
  scoring: id,
  /** How many applications go on to the next stage; absent = all that pass the gates. */
  keep: positive.optional(),
  /** Reviewers assigned per application; absent = every panel reviewer may review every application. */
  assignment: ReviewerAssignmentSchema.optional(),
  /** Applicants review each other's applications; absent = they do not. */
  peerReview: PeerReviewSchema.optional(),
});

/**
 * Funding tiers with partial randomisation (issue 15, item 3), on the ranking's totals: at or above
 * `fundAtOrAbove` funded outright (best first while awards remain), below `rejectBelow` not funded,
 * and between them a recorded seeded lottery gives the awards left (`maxAwardees` is the budget).
 */
export const FundingTiersSchema = z.strictObject({
  fundAtOrAbove: z.number().min(0, 'must not be negative'),
  rejectBelow: z.number().min(0, 'must not be negative'),
});

export const SelectionStageSchema = z.strictObject({
  kind: z.literal('selection'),
  name: text.default('Selection'),
  minAwardees: positive,
  maxAwardees: positive,
  approvalDue: DueSchema,
  onApprovalTimeout: ApprovalTimeoutSchema,
  /** Absent = the top `maxAwardees` of the ranking are proposed. */
  fundingTiers: FundingTiersSchema.optional(),
  /** Budgets and pools (issue 15): tiers (or the ranking) decide who is fundable, pools how much; absent = the grant stage's amounts. */
  funding: FundingPoolsSchema.optional(),
});

export const GpuAllocationSchema = z.strictObject({ type: text, count: positive });

/** GPU amounts as alternatives in order of preference ("512 B200 or 1,024 H100"), served by the first that fits. */
export const GpuAmountsSchema = z.array(GpuAllocationSchema).min(1, 'at least one GPU type').max(8, 'at most 8 alternatives');

/**
 * What a grant does when the pool refuses it GPUs (or serves only part): `"give_up"` (the grant ends
 * as refused; the program manager is told), or `"retry_until P30D"` (it waits that long: it asks again
 * when another grant frees capacity and on a daily timer, or when the program manager sets another
 * amount). Either way the refusal is escalated to the program manager.
 */
export const OnRefusalSchema = z
  .string()
  .refine((v) => v === 'give_up' || (/^retry_until \S+$/.test(v) && isIsoDuration(v.slice('retry_until '.length))), 'must be "give_up" or "retry_until <ISO-8601 duration>", e.g. "retry_until P30D"');

export const GrantStageSchema = z.strictObject({
  kind: z.literal('grant'),
  name: text.default('Compute grant'),
  duration: DueSchema,
  gpusPerAwardee: z.array(GpuAllocationSchema).min(1, 'at least one GPU type'),
  /**
   * Applicants may ask for an amount (`gpusRequested` on the application, in GPUs of the first type of
   * `gpusPerAwardee`); the grant gets min(requested, cap), the other alternatives scaled alike. Absent:
   * applications may not carry a request.
   */
  applicantRequests: z.strictObject({ cap: positive }).optional(),
  /** A refused or partly served grant; absent = "give_up". */
  onRefusal: OnRefusalSchema.optional(),
  /**
   * Serve part of the amount when the whole does not fit, if at least this fraction of it (e.g. 0.5);
   * the shortfall is escalated and topped up when capacity frees (as `onRefusal` says). Absent = all or nothing.
   */
  acceptPartialAtLeast: z.number().gt(0, 'must be above 0').max(1, 'must be at most 1').optional(),
});

export const NarrowingSchema = z.strictObject({
  keep: count,
  approvalDue: DueSchema,
  onApprovalTimeout: ApprovalTimeoutSchema,
});

/**
 * The program measures the models itself: each team's submitted endpoint is asked a benchmark suite
 * and the result feeds one criterion of the round's scheme (human criteria keep coming from people).
 * Absent: the round is scored by people alone, as before.
 */
export const BenchmarkPolicySchema = z.strictObject({
  /** The suite's id (a file of libs/evaluation/suites). */
  suite: id,
  /** Pins the suite's content (SHA-256 of its canonical JSON); absent = the version shipped when the run starts, recorded with the result. */
  suiteVersion: z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256').optional(),
  /** The criterion of the round's scheme that the result feeds, e.g. "benchmarks". */
  criterion: id,
  /** A declared reference model: scores are then relative to its accuracy (e.g. "95 % of the best reference model"). */
  reference: z.strictObject({ model: text, accuracy: z.number().gt(0, 'must be above 0').max(1, 'must be at most 1') }).optional(),
  /** Full points from this share of the reference (or of a perfect score); absent = 1. */
  fullPointsAt: z.number().gt(0, 'must be above 0').max(1, 'must be at most 1').optional(),
  /** A team without a result when the round closes: zero points, or left out of the round's ranking. */
  missingResult: z.enum(['score_zero', 'exclude_team']),
  /** What is kept of each answer: the text itself, or only its SHA-256 (the default). */
  responses: z.enum(['keep', 'hashes']).optional(),
  /** Requests in flight at once per team endpoint (a team's server must not be flooded); absent = 4. */
  concurrency: z.number().int().min(1).max(64).optional(),
  /** Tries per item before it is recorded as unanswered; absent = 3. */
  maxAttempts: z.number().int().min(1).max(10).optional(),
  /** Whether submitted artifacts must pass the provenance check (not a renamed public model); it feeds the scheme's gate "originality". Absent = false. */
  provenanceGate: z.boolean().optional(),
});

export const EvaluationStageSchema = z.strictObject({
  kind: z.literal('evaluation'),
  name: text,
  /** Models due this long after the round opens (the compute time the round gives). */
  submissionDue: DueSchema,
  /** Evaluators' scores due this long after the submission deadline. */
  scoringDue: DueSchema,
  scoring: id,
  narrowing: NarrowingSchema,
  /** GPUs per team from this round on (teams with a program manager's amount keep theirs); absent = unchanged. */
  gpusPerTeam: GpuAmountsSchema.optional(),
  /** Measured by the program itself; absent = people score every criterion. */
  benchmark: BenchmarkPolicySchema.optional(),
});

export const ExtensionStageSchema = z.strictObject({
  kind: z.literal('extension'),
  name: text.default('Extension'),
  duration: DueSchema,
  /** GPUs per finalist during the extension; absent = unchanged. */
  gpusPerFinalist: GpuAmountsSchema.optional(),
});

export const RefillStageSchema = z.strictObject({
  kind: z.literal('refill'),
  name: text.default('Refill call'),
  /** A refill call opens only when fewer than this many teams remain. */
  fillUpTo: positive,
  openFor: DueSchema,
  reviewFor: DueSchema,
  scoring: id,
  approvalDue: DueSchema,
  onApprovalTimeout: z.enum(['apply_ranking', 'select_none', 'hold_and_escalate']),
  openTo: z.strictObject({ newcomers: z.boolean(), eliminatedTeams: z.boolean() }),
  /** Later stage dates move by this much so the late entrant has time to catch up. */
  shiftLaterStagesBy: DurationSchema.default('P0D'),
  /** GPUs per entrant (e.g. a larger share to catch up); absent = the grant stage's `gpusPerAwardee`. */
  gpusPerEntrant: GpuAmountsSchema.optional(),
});

export const ProcurementStageSchema = z.strictObject({
  kind: z.literal('procurement'),
  name: text.default('Procurement and open-source release'),
  contractsDue: DueSchema,
  openSourceReleaseDue: DueSchema,
  allowedLicences: z.array(text).min(1, 'at least one licence'),
  /**
   * Issue 15: the release must include the evaluated model (an artifact whose SHA-256 is that of the
   * team's last model submission); a mismatch is escalated and, with `block_procurement`, the team's
   * contract waits for a release that matches. Absent = releases are not checked against submissions.
   */
  releaseVerification: z.strictObject({ onMismatch: z.enum(['escalate', 'block_procurement']) }).optional(),
});

export const StageSchema = z.discriminatedUnion('kind', [
  CallStageSchema,
  ReviewStageSchema,
  SelectionStageSchema,
  GrantStageSchema,
  EvaluationStageSchema,
  ExtensionStageSchema,
  RefillStageSchema,
  ProcurementStageSchema,
]);

export const CriterionSchema = z.strictObject({
  id,
  name: text,
  weight: z.number().positive('must be positive'),
  scale: z.strictObject({ min: z.number(), max: z.number() }),
});

export const GateSchema = z.strictObject({
  id,
  name: text,
  /** A team fails when any scorer says fail, or when most of those who gave a verdict do. */
  failWhen: z.enum(['any_fail', 'majority_fail']),
});

export const TieBreakSchema = z.discriminatedUnion('by', [
  /** Higher score on this criterion wins. */
  z.strictObject({ by: z.literal('criterion'), criterion: id }),
  /** The earlier application (or model submission) wins. */
  z.strictObject({ by: z.literal('earliest_submission') }),
  /** More scores (more evidence) wins. */
  z.strictObject({ by: z.literal('more_scores') }),
]);

export const ScoringSchemeSchema = z.strictObject({
  criteria: z.array(CriterionSchema).min(1, 'at least one criterion'),
  /** Totals are reported on 0..100 or 0..1. */
  totalScale: z.union([z.literal(100), z.literal(1)]).default(100),
  minimumScoresPerApplication: positive,
  reviewerNormalization: z.enum(['none', 'z_score']).default('none'),
  gates: z.array(GateSchema).default([]),
  /** Applied in order; a seeded lottery settles whatever is still tied. */
  tieBreak: z.array(TieBreakSchema).default([]),
});

export const ConfidentialitySchema = z.strictObject({
  /** Per-team scores are only ever shown to program managers and auditors. */
  publish: z.strictObject({
    applicationCount: z.boolean().default(true),
    awardeeNames: z.boolean().default(true),
    topScore: z.boolean().default(false),
    meanScore: z.boolean().default(false),
    medianScore: z.boolean().default(false),
    // Issue 15, item 7: optional, without defaults, so that policies written before keep their hash.
    /** Scores over the ranked teams only (`ranked`, the default) or every evaluated team, those a gate removed included (`evaluated`). */
    over: z.enum(['ranked', 'evaluated']).optional(),
    /** Decimal places of published scores, 0..6; absent = 6. */
    decimals: z.number().int('must be a whole number').min(0, 'must not be negative').max(6, 'at most 6').optional(),
    /** Which rounds' aggregates are published (`review`, `evaluation`, `refill`); absent = every round. */
    rounds: z.array(z.enum(['review', 'evaluation', 'refill'])).optional(),
  }),
});

export const RemindersSchema = z.strictObject({
  before: z.array(DurationSchema).default([]),
});

export const MissingInputsSchema = z.strictObject({
  /** Reviews (and evaluation scores) below the minimum when the deadline passes. */
  scores: z.strictObject({
    belowMinimumAtDeadline: z.enum(['proceed_with_present', 'extend_once_and_escalate']),
    extendBy: DueSchema.default('P7D'),
    stillMissingAfterExtension: z.enum(['proceed_with_present', 'exclude_application']),
  }),
  /** A team that submits nothing for an evaluation round. */
  evaluationSubmission: z.enum(['score_zero', 'eliminate']),
  /** A program manager who does not decide an objection in time: the decision is held and escalated. */
  objectionDecisionDue: DueSchema.default('P14D'),
});

/** A period counted from an instant: a number of days (`10`, `0.5`) or an ISO-8601 duration (`"P10D"`, `"PT30S"`); never a fixed date. */
export const PeriodSchema = z.union([z.number().positive('must be a positive number of days'), DurationSchema]);

export const ObjectionsSchema = z.strictObject({
  /** The window in whole days, as policies were first written; `window` says the same in any duration. One of the two. */
  windowDays: positive.optional(),
  /** The window as days or an ISO-8601 duration (`"P10D"`, `"PT30S"`); absent = `windowDays`. */
  window: PeriodSchema.optional(),
  appliesTo: z.array(z.enum(['selection', 'narrowing'])).default(['narrowing']),
  /**
   * When an affected team's window starts: at the `decision` (absent means this), or once the
   * decision's notice to that team is recorded as delivered (`notified`). Optional without a schema
   * default so that policies written before it keep their hash and cycles replay unchanged.
   */
  windowStartsAt: z.enum(['decision', 'notified']).optional(),
  /**
   * With `notified`: how long after the decision the window starts anyway for a team whose notice
   * has not been delivered (an unreachable mailbox never holds a cycle); absent = `P3D`. The program
   * managers are told which teams were not reached.
   */
  notifiedWithin: DurationSchema.optional(),
});

export const ProgramPolicySchema = z.strictObject({
  program: id,
  name: text,
  version: text,
  /** When the next cycle opens after this one's call opened; absent = not repeated. */
  repeatEvery: DurationSchema.optional(),
  stages: z.array(StageSchema).min(1),
  scoring: z.record(id, ScoringSchemeSchema),
  objections: ObjectionsSchema,
  reminders: RemindersSchema.default({ before: [] }),
  missingInputs: MissingInputsSchema,
  confidentiality: ConfidentialitySchema,
  /**
   * The language the program speaks to people (notifications); absent = `en`. Optional without a
   * schema default so that policies written before it keep their hash and cycles replay unchanged.
   */
  language: z.enum(['en', 'ko']).optional(),
  /** Milestones and progress reports of every grant, and what a missing one sets off (issue 15); absent = none. */
  grantReports: GrantReportsSchema.optional(),
});

export type ProgramPolicy = z.infer<typeof ProgramPolicySchema>;
/** The document as written (defaults not yet filled in). */
export type ProgramPolicyInput = z.input<typeof ProgramPolicySchema>;
export type Stage = z.infer<typeof StageSchema>;
export type StageKind = Stage['kind'];
export type CallStage = z.infer<typeof CallStageSchema>;
export type ReviewStage = z.infer<typeof ReviewStageSchema>;
export type ReviewerAssignmentPolicy = z.infer<typeof ReviewerAssignmentSchema>;
export type PeerReviewPolicy = z.infer<typeof PeerReviewSchema>;
export type FundingTiers = z.infer<typeof FundingTiersSchema>;
export type SelectionStage = z.infer<typeof SelectionStageSchema>;
export type GrantStage = z.infer<typeof GrantStageSchema>;
export type EvaluationStage = z.infer<typeof EvaluationStageSchema>;
export type BenchmarkPolicy = z.infer<typeof BenchmarkPolicySchema>;
export type ExtensionStage = z.infer<typeof ExtensionStageSchema>;
export type RefillStage = z.infer<typeof RefillStageSchema>;
export type ProcurementStage = z.infer<typeof ProcurementStageSchema>;
export type ScoringScheme = z.infer<typeof ScoringSchemeSchema>;
export type Criterion = z.infer<typeof CriterionSchema>;
export type Gate = z.infer<typeof GateSchema>;
export type TieBreakRule = z.infer<typeof TieBreakSchema>;
export type GpuAllocation = z.infer<typeof GpuAllocationSchema>;
export type Eligibility = z.infer<typeof EligibilitySchema>;
export type ApprovalTimeout = z.infer<typeof ApprovalTimeoutSchema>;
