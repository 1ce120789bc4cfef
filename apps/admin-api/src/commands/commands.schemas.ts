/**
 * Bodies of the commands people give a running cycle. Strict objects: a misspelt field is a 400
 * naming it. These check the shape only; whether a command is allowed now (stage, deadline, role,
 * organisation, conflicts, duplicates) is the cycle's decision, made by its Update validator.
 * The actor is never part of a body: it comes from the verified token. Bodies whose fields are all
 * optional (`.default({})`) may be left out altogether.
 */
import { z } from 'zod';
import { REGION_PATTERN } from '@concentra/domain';

const text = (max = 2_000) => z.string().trim().min(1, 'must not be empty').max(max);
/** Application, team and round slugs as the domain accepts them. */
export const ApplicationIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be a slug: lower-case letters, digits and "-", at most 63 characters');
const identifier = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'letters, digits and . _ : / - (at most 128)');
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');
const round = z.number().int('must be a whole number').min(1, 'rounds count from 1');
const scores = z.record(z.string().min(1), z.number().finite()).refine((r) => Object.keys(r).length > 0, 'at least one criterion score');
const verdicts = z.record(z.string().min(1), z.enum(['pass', 'fail']));
const conflictOfInterest = z.strictObject({
  /** A scorer who declares a conflict is refused; the declaration is required either way. */
  declared: z.boolean(),
  note: text().optional(),
});

export const OrganisationSchema = z.strictObject({
  organisationId: text(200),
  name: text(300),
  /** Matched against the policy's eligibility types, e.g. "company", "university". */
  type: text(100),
});

export const SubmitApplicationSchema = z.strictObject({
  /** Chosen by the applicant (it becomes the team slug in grant ids); derived from the title when absent. */
  applicationId: ApplicationIdSchema.optional(),
  title: text(300),
  summary: text(10_000).optional(),
  /** Must be the caller's own organisation. */
  lead: OrganisationSchema,
  members: z.array(OrganisationSchema).max(100).default([]),
  /** GPUs asked for (of the grant stage's first type), where the policy takes requests; the grant gets at most the policy's cap. */
  gpusRequested: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'at most 1,000,000').optional(),
  /** Topic tags matched with reviewers' expertise when the policy assigns reviewers. */
  topics: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, "-" or "_"')).max(20).optional(),
  /** The applicant's region, e.g. "kr-seoul": funding pools and concentration caps per region count it. */
  region: z.string().regex(REGION_PATTERN, 'must be a region id of lower-case letters, digits, "-" or "_"').optional(),
});
export type SubmitApplicationBody = z.infer<typeof SubmitApplicationSchema>;

export const WithdrawApplicationSchema = z.strictObject({ reason: text().optional() }).default({});

export const ApproveMembershipChangeSchema = z.strictObject({
  members: z.array(OrganisationSchema).max(100),
  rationale: text(),
});
export type ApproveMembershipChangeBody = z.infer<typeof ApproveMembershipChangeSchema>;

export const DeclareConflictSchema = z.strictObject({ reason: text() });
/** An assigned reviewer declines an application (another is assigned in their place). */
export const DeclineAssignmentSchema = z.strictObject({ reason: text() });

export const SubmitReviewSchema = z.strictObject({
  /** Idempotent id of this review; generated when absent. */
  reviewId: identifier.optional(),
  applicationId: ApplicationIdSchema,
  scores,
  verdicts: verdicts.optional(),
  conflictOfInterest,
});
export type SubmitReviewBody = z.infer<typeof SubmitReviewSchema>;

export const ApproveSelectionSchema = z.strictObject({ rationale: text().optional() }).default({});

export const OverrideSelectionSchema = z.strictObject({
  awardees: z.array(ApplicationIdSchema).max(100),
  rationale: text(),
});

/**
 * A model for an evaluation round: an artifact, and/or an OpenAI-compatible endpoint the program
 * measures itself, named with a credential *reference* (the secret stays with the workers) and the
 * artifacts the provenance check compares. Which the round needs is the policy's (the cycle says).
 */
export const SubmitModelSchema = z
  .strictObject({
    applicationId: ApplicationIdSchema,
    round,
    artifact: z.strictObject({ uri: text(2_000), sha256 }).optional(),
    endpoint: z
      .strictObject({
        baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).max(2_000),
        model: text(200),
        credentialRef: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'a reference name (lower-case letters, digits, "-" or "_", at most 40), never the secret itself').optional(),
      })
      .optional(),
    artifacts: z.array(z.strictObject({ name: text(200), sha256 })).max(32).optional(),
  })
  .refine((b) => b.artifact !== undefined || b.endpoint !== undefined, { message: 'an artifact or an endpoint is required', path: ['artifact'] });

export const SubmitEvaluationScoresSchema = z.strictObject({
  /** Idempotent id of this score set; generated when absent. */
  scoreSetId: identifier.optional(),
  applicationId: ApplicationIdSchema,
  round,
  scores,
  verdicts: verdicts.optional(),
  conflictOfInterest,
});
export type SubmitEvaluationScoresBody = z.infer<typeof SubmitEvaluationScoresSchema>;

export const ApproveNarrowingSchema = z.strictObject({ round, rationale: text().optional() });

export const OverrideNarrowingSchema = z
  .strictObject({
    round,
    /** Keep the top N of the ranking ... */
    keepCount: z.number().int('must be a whole number').min(0).optional(),
    /** ... or exactly these teams. */
    keep: z.array(ApplicationIdSchema).max(100).optional(),
    rationale: text(),
  })
  .refine((b) => (b.keep === undefined) !== (b.keepCount === undefined), { message: 'give either keepCount or keep (the teams to keep)', path: ['keep'] });

export const ObjectToDecisionSchema = z.strictObject({ applicationId: ApplicationIdSchema, grounds: text(10_000) });

export const WaiveObjectionSchema = z.strictObject({}).default({});

export const DecideObjectionSchema = z.strictObject({ upheld: z.boolean(), reasoning: text(10_000) });

export const SetGrantGpusSchema = z.strictObject({
  /** Alternatives in order of preference, e.g. [{ "type": "B200", "count": 256 }, { "type": "H100", "count": 512 }]. */
  gpus: z
    .array(
      z.strictObject({
        type: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/, 'must be a GPU type such as "H100"'),
        count: z.number().int('must be a whole number').min(1, 'must be at least 1').max(1_000_000, 'at most 1,000,000'),
      }),
    )
    .min(1, 'at least one GPU amount')
    .max(8, 'at most 8 alternatives'),
  rationale: text(),
});

export const SelectRefillEntrantsSchema = z.strictObject({
  applicationIds: z.array(ApplicationIdSchema).max(100),
  /** Required when the choice differs from the ranking's proposal. */
  rationale: text().optional(),
});

export const RecordProcurementContractSchema = z.strictObject({
  /** The contract's reference; a second record of it is refused. */
  contractId: identifier,
  applicationId: ApplicationIdSchema,
  agency: text(300),
  model: text(300),
  term: z.strictObject({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }) }),
  amount: z.strictObject({
    value: z.number().positive('must be a positive amount'),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "EUR"'),
  }),
  budgetLine: text(300),
});

export const RecordReleaseDeclarationSchema = z.strictObject({
  applicationId: ApplicationIdSchema,
  repository: text(2_000),
  licence: text(100),
  artifacts: z.array(z.strictObject({ name: text(500), sha256 })).min(1, 'at least one artifact with its checksum').max(1_000),
});

export const CancelCycleSchema = z.strictObject({ reason: text(10_000) });

/** What every accepted command answers: the command, the facts it caused, where the cycle stands. */
export const CommandAnswerSchema = z.looseObject({
  command: z.string(),
  id: z.string().optional().describe('the id the API chose for what the command created (application, review, score set)'),
  events: z.array(z.string()).describe('the event types the command caused'),
  stage: z.string(),
  version: z.number().int(),
});
