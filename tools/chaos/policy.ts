/**
 * The chaos suite's program: the default policy with durations in seconds, so every deadline,
 * reminder and grant period of a whole cycle passes while processes are being killed. Reminders
 * go out 4 s before each deadline. Wiring only: real programs run on real durations.
 */
import { defaultPolicyDocument, parsePolicy, policyHash, type ProgramPolicy } from '@concentra/domain';

export const CHAOS_APPLICATIONS = 5;

export function chaosPolicyDocument(program: string): Record<string, unknown> {
  const [call, review, selection, grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;
  return {
    ...defaultPolicyDocument,
    program,
    name: `Chaos suite programme ${program}`,
    repeatEvery: undefined,
    stages: [
      { ...call, closing: { deadline: 'PT60S', afterApplications: CHAOS_APPLICATIONS } },
      { ...review, duration: 'PT12S' },
      { ...selection, minAwardees: 2, maxAwardees: 3, approvalDue: 'PT10S', onApprovalTimeout: 'apply_ranking' },
      { ...grant, duration: 'PT10S', gpusPerAwardee: [{ type: 'H100', count: 8 }] },
      { ...evaluation, submissionDue: 'PT10S', scoringDue: 'PT8S', narrowing: { keep: 2, approvalDue: 'PT10S', onApprovalTimeout: 'apply_ranking' } },
      { ...extension, duration: 'PT8S' },
      { ...procurement, contractsDue: 'PT20S', openSourceReleaseDue: 'PT25S' },
    ],
    scoring: {
      proposal: { ...defaultPolicyDocument.scoring.proposal, minimumScoresPerApplication: 2 },
      model: { ...defaultPolicyDocument.scoring.model, minimumScoresPerApplication: 2 },
    },
    objections: { windowDays: 1, appliesTo: ['narrowing'] },
    reminders: { before: ['PT4S'] },
    missingInputs: {
      scores: { belowMinimumAtDeadline: 'proceed_with_present', extendBy: 'PT10S', stillMissingAfterExtension: 'proceed_with_present' },
      evaluationSubmission: 'score_zero',
      objectionDecisionDue: 'PT15S',
    },
  };
}

export function chaosPolicy(program: string): { policy: ProgramPolicy; hash: string } {
  const policy = parsePolicy(chaosPolicyDocument(program));
  return { policy, hash: policyHash(policy) };
}

/** Three reviewers and two evaluators, each from an organisation no applicant belongs to. */
export const CHAOS_PANEL = {
  reviewers: [1, 2, 3].map((n) => ({ subject: `reviewer-${n}`, organisationId: `review-org-${n}` })),
  evaluators: [1, 2].map((n) => ({ subject: `evaluator-${n}`, organisationId: `eval-org-${n}` })),
};
