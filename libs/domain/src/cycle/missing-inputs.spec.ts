import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { nextDeadline, owed } from './obligations';
import { byRank, evaluateAll, modelByRank, openWithApplicants, reviewAll, reviewer, type Scenario, types, playToEvaluation } from './testing';

function withMissing(scores: Record<string, unknown>, evaluationSubmission = 'score_zero') {
  return parsePolicy({ ...defaultPolicyDocument, missingInputs: { ...defaultPolicyDocument.missingInputs, scores: { ...defaultPolicyDocument.missingInputs.scores, ...scores }, evaluationSubmission } });
}

/** a8 gets only two of the three reviews the policy requires. */
function reviewsMissingA8(policy = defaultPolicy): Scenario {
  const sc = openWithApplicants(policy, 8);
  sc.fire('call_close');
  reviewAll(sc, byRank, [1, 2, 3], ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7']);
  reviewAll(sc, byRank, [1, 2], ['a8']);
  return sc;
}

describe('reviews missing at the deadline', () => {
  it('extends once and escalates, then proceeds with the reviews present', () => {
    const sc = reviewsMissingA8();
    expect(owed(sc.state)).toEqual([{ who: { role: 'reviewer', subject: 'reviewer-3', organisationId: 'review-org-3' }, what: 'review', applicationId: 'a8', dueAt: '2027-02-24T09:00:00.000Z', deadline: 'review_due' }]);
    expect(types(sc.fire('review_due'))).toEqual(['ReviewDeadlineExtended', 'EscalationRaised']);
    expect(sc.last('ReviewDeadlineExtended').data).toMatchObject({ dueAt: '2027-03-03T09:00:00.000Z', missing: [{ applicationId: 'a8', have: 2, need: 3 }] });
    expect(sc.last('EscalationRaised').data.reason).toBe('scores_below_minimum');
    expect(nextDeadline(sc.state)).toEqual({ deadline: 'review_due', at: '2027-03-03T09:00:00.000Z' });
    // Still missing after the extension: this policy proceeds with what is there.
    expect(types(sc.fire('review_due'))).toEqual(['ReviewRoundClosed', 'SelectionProposed']);
    const ranking = sc.last('ReviewRoundClosed').data.result.ranking;
    expect(ranking.find((r) => r.candidateId === 'a8')).toMatchObject({ scoreCount: 2, belowMinimum: true });
  });

  it('accepts the missing review during the extension', () => {
    const sc = reviewsMissingA8();
    sc.fire('review_due');
    sc.afterDays(1);
    sc.run({ type: 'SubmitReview', actor: reviewer(3), data: { reviewId: 'late-one', applicationId: 'a8', scores: byRank('a8', 3), conflictOfInterest: { declared: false } } });
    expect(types(sc.fire('review_due'))).toEqual(['ReviewRoundClosed', 'SelectionProposed']);
  });

  it('can exclude an application still short after the extension', () => {
    const sc = reviewsMissingA8(withMissing({ stillMissingAfterExtension: 'exclude_application' }));
    sc.fire('review_due');
    sc.fire('review_due');
    const closed = sc.last('ReviewRoundClosed').data;
    expect(closed.result.excluded).toEqual([{ candidateId: 'a8', reason: 'below_minimum_scores', scoreCount: 2, required: 3 }]);
    expect(closed.dropped).toEqual(['a8']);
  });

  it('proceeds at once when the policy says so', () => {
    const sc = reviewsMissingA8(withMissing({ belowMinimumAtDeadline: 'proceed_with_present' }));
    expect(types(sc.fire('review_due'))).toEqual(['ReviewRoundClosed', 'SelectionProposed']);
  });
});

const toEvaluation = (policy = defaultPolicy): Scenario => playToEvaluation({ policy });

describe('a team with no evaluation submission', () => {
  it('scores zero under "score_zero" and ranks last', () => {
    const sc = toEvaluation();
    evaluateAll(sc, modelByRank, ['a1']);
    expect(owed(sc.state).filter((o) => o.what === 'model_submission')).toEqual([
      { who: { role: 'applicant', organisationId: 'org-a1' }, what: 'model_submission', applicationId: 'a1', dueAt: sc.running.deadlines.evaluation_submission_due, deadline: 'evaluation_submission_due' },
    ]);
    expect(sc.fire('evaluation_submission_due')).toEqual([
      { type: 'EvaluationSubmissionsClosed', data: expect.objectContaining({ missing: ['a1'], outcome: 'score_zero' }) },
    ]);
    sc.fire('evaluation_scoring_due');
    const ranking = sc.last('NarrowingProposed').data.result.ranking;
    expect(ranking.map((r) => r.candidateId)).toEqual(['a2', 'a3', 'a4', 'a5', 'a1']);
    expect(ranking[4]).toMatchObject({ total: 0, zeroed: true });
    expect(ranking[4].belowMinimum).toBeUndefined(); // recorded only when true
  });

  it('is eliminated under "eliminate"', () => {
    const sc = toEvaluation(withMissing({}, 'eliminate'));
    evaluateAll(sc, modelByRank, ['a1']);
    expect(types(sc.fire('evaluation_submission_due'))).toEqual(['EvaluationSubmissionsClosed', 'TeamEliminated']);
    expect(sc.last('TeamEliminated').data).toMatchObject({ applicationId: 'a1', reason: 'no_submission' });
    sc.fire('evaluation_scoring_due');
    expect(sc.last('NarrowingProposed').data.candidates).toEqual(['a2', 'a3', 'a4', 'a5']);
  });
});
