/**
 * The national "select and concentrate" programme as a policy document, and a three-round variant.
 * They double as the examples in the README, so they are written the way a program manager would.
 */
import { parsePolicy } from './parse';
import type { ProgramPolicy, ProgramPolicyInput } from './schema';

export const defaultPolicyDocument = {
  program: 'select-and-concentrate',
  name: 'National AI select-and-concentrate programme',
  version: '2027.1',
  repeatEvery: 'P1Y',
  stages: [
    {
      kind: 'call',
      name: 'Call for applications',
      closing: { deadline: 'P30D' },
      eligibility: {
        allowedOrganisationTypes: ['company', 'university', 'research_institute', 'public_body'],
        allowedLeadTypes: ['company'],
        requiredMemberTypes: [],
        oneApplicationPerLeadOrganisation: true,
      },
    },
    { kind: 'review', name: 'Expert review', duration: 'P21D', scoring: 'proposal' },
    { kind: 'selection', name: 'Selection', minAwardees: 3, maxAwardees: 5, approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking' },
    { kind: 'grant', name: 'Compute grant', duration: 'P6M', gpusPerAwardee: [{ type: 'H100', count: 512 }] },
    {
      kind: 'evaluation',
      name: 'Model evaluation',
      submissionDue: 'P14D',
      scoringDue: 'P14D',
      scoring: 'model',
      narrowing: { keep: 2, approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking' },
    },
    { kind: 'extension', name: 'Finalist extension', duration: 'P6M' },
    {
      kind: 'procurement',
      name: 'Public-use procurement and open-source release',
      contractsDue: 'P60D',
      openSourceReleaseDue: 'P90D',
      allowedLicences: ['Apache-2.0', 'MIT'],
    },
  ],
  scoring: {
    proposal: {
      criteria: [
        { id: 'technical', name: 'Technical approach', weight: 40, scale: { min: 0, max: 10 } },
        { id: 'team', name: 'Team and track record', weight: 30, scale: { min: 0, max: 10 } },
        { id: 'impact', name: 'Public impact', weight: 30, scale: { min: 0, max: 10 } },
      ],
      totalScale: 100,
      minimumScoresPerApplication: 3,
      reviewerNormalization: 'none',
      gates: [],
      tieBreak: [{ by: 'criterion', criterion: 'technical' }, { by: 'earliest_submission' }],
    },
    model: {
      criteria: [
        { id: 'benchmarks', name: 'Benchmarks', weight: 40, scale: { min: 0, max: 100 } },
        { id: 'experts', name: 'Expert panel', weight: 35, scale: { min: 0, max: 10 } },
        { id: 'users', name: 'User trials', weight: 25, scale: { min: 0, max: 10 } },
      ],
      totalScale: 100,
      minimumScoresPerApplication: 2,
      reviewerNormalization: 'none',
      gates: [{ id: 'safety', name: 'Safety and security review', failWhen: 'any_fail' }],
      tieBreak: [{ by: 'criterion', criterion: 'benchmarks' }],
    },
  },
  objections: { windowDays: 10, appliesTo: ['narrowing'] },
  reminders: { before: ['P7D', 'P1D'] },
  missingInputs: {
    scores: {
      belowMinimumAtDeadline: 'extend_once_and_escalate',
      extendBy: 'P7D',
      stillMissingAfterExtension: 'proceed_with_present',
    },
    evaluationSubmission: 'score_zero',
    objectionDecisionDue: 'P14D',
  },
  confidentiality: {
    publish: { applicationCount: true, awardeeNames: true, topScore: true, meanScore: true, medianScore: false },
  },
} satisfies ProgramPolicyInput;

export const defaultPolicy: ProgramPolicy = parsePolicy(defaultPolicyDocument);

/** Five teams funded, then three evaluation rounds each dropping one: 5 → 4 → 3 → 2. */
export const multiRoundExamplePolicyDocument = {
  ...defaultPolicyDocument,
  program: 'three-round-example',
  name: 'Three-round programme (5 → 4 → 3 → 2)',
  version: '2027.1',
  stages: [
    defaultPolicyDocument.stages[0],
    defaultPolicyDocument.stages[1],
    { kind: 'selection', name: 'Selection', minAwardees: 5, maxAwardees: 5, approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking' },
    { kind: 'grant', name: 'Compute grant', duration: 'P4M', gpusPerAwardee: [{ type: 'H100', count: 256 }] },
    ...[4, 3, 2].map((keep, i) => ({
      kind: 'evaluation' as const,
      name: `Evaluation round ${i + 1}`,
      submissionDue: i === 0 ? 'P14D' : 'P60D',
      scoringDue: 'P14D',
      scoring: 'model',
      narrowing: { keep, approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking' as const },
    })),
    { kind: 'extension', name: 'Finalist extension', duration: 'P6M' },
    defaultPolicyDocument.stages[6],
  ],
} satisfies ProgramPolicyInput;

export const multiRoundExamplePolicy: ProgramPolicy = parsePolicy(multiRoundExamplePolicyDocument);
