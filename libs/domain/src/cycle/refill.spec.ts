import { grantsToStart, owed } from './obligations';
import { applicantOf, applicationCommand, company, evaluateAll, openWithApplicants, pm, refillPolicy, reviewAll, type Scenario, types, playToNarrowing } from './testing';

/** Five teams; the first narrowing is overridden to keep two where three were planned: one seat is vacant. */
function toRefill(): Scenario {
  const sc = playToNarrowing({ policy: refillPolicy });
  sc.run({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 2, rationale: 'a3 is not ready' } });
  sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } });
  sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } });
  const events = sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } });
  expect(types(events).slice(-1)).toEqual(['RefillCallOpened']);
  return sc;
}

describe('a refill call', () => {
  it('adds a team mid-program, open to newcomers and eliminated teams, shifting later dates', () => {
    const sc = toRefill();
    expect(sc.state.stage).toBe('refill');
    expect(sc.last('RefillCallOpened').data).toMatchObject({ seats: 1, openTo: { newcomers: true, eliminatedTeams: true } });

    sc.run(applicationCommand('n1'));
    sc.run({ type: 'SubmitApplication', actor: applicantOf('org-a4'), data: { applicationId: 'a4-refill', title: 'Second try', lead: company('org-a4'), members: [] } });
    sc.refuse({ type: 'SubmitApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1-again', title: 'x', lead: company('org-a1'), members: [] } }, 'duplicate');
    sc.refuse({ type: 'SubmitApplication', actor: applicantOf('org-n1'), data: { applicationId: 'n1-bis', title: 'x', lead: company('org-n1'), members: [] } }, 'duplicate');

    expect(sc.fire('refill_close')).toEqual([{ type: 'RefillCallClosed', data: expect.objectContaining({ applications: ['n1', 'a4-refill'] }) }]);
    const refillScores = (id: string) => (id === 'n1' ? { technical: 9, team: 8, impact: 8 } : { technical: 6, team: 6, impact: 6 });
    reviewAll(sc, refillScores);
    expect(types(sc.fire('refill_review_due'))).toEqual(['RefillRankingProposed']);
    expect(sc.last('RefillRankingProposed').data.proposed).toEqual(['n1']);
    expect(owed(sc.state)).toEqual([expect.objectContaining({ what: 'refill_selection' })]);

    sc.refuse({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: ['n1', 'a4-refill'] } }, 'validation_failed');
    sc.refuse({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: ['a4-refill'] } }, 'validation_failed');
    const now = sc.now;
    const selected = sc.run({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: ['n1'] } });
    expect(types(selected)).toEqual(['RefillEntrantsSelected', 'EvaluationRoundOpened']);
    expect(sc.last('RefillEntrantsSelected').data).toMatchObject({ entrants: ['n1'], notSelected: ['a4-refill'], shiftLaterStagesBy: 'P30D' });
    // 30 days of shift plus the 14 days the round gives for submissions.
    expect(sc.last('EvaluationRoundOpened').data).toMatchObject({ teams: ['a1', 'a2', 'n1'], openedAt: now, submissionDueAt: new Date(Date.parse(now) + 44 * 86_400_000).toISOString() });
    expect(grantsToStart(sc.state).map((g) => g.applicationId)).toEqual(['n1']);
    expect(sc.running.applications.n1.status).toBe('active');
  });

  it('selects none when nobody applies, and the program goes on', () => {
    const sc = toRefill();
    expect(types(sc.fire('refill_close'))).toEqual(['RefillCallClosed', 'RefillEntrantsSelected', 'EvaluationRoundOpened']);
    expect(sc.last('RefillEntrantsSelected').data).toMatchObject({ entrants: [], approval: 'policy default', shiftLaterStagesBy: null });
    expect(sc.last('EvaluationRoundOpened').data.teams).toEqual(['a1', 'a2']);
  });

  it('lets the program manager select none, with a rationale', () => {
    const sc = toRefill();
    sc.run(applicationCommand('n1'));
    sc.fire('refill_close');
    reviewAll(sc, () => ({ technical: 2, team: 2, impact: 2 }), [1, 2, 3]);
    sc.fire('refill_review_due');
    sc.refuse({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: [] } }, 'validation_failed');
    const events = sc.run({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: [], rationale: 'no applicant meets the bar' } });
    expect(types(events)).toEqual(['RefillEntrantsSelected', 'EvaluationRoundOpened']);
    expect(sc.running.applications.n1.status).toBe('not_selected');
  });

  it('is skipped when no seat is vacant', () => {
    const sc = openWithApplicants(refillPolicy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    sc.fire('grant_period_end');
    evaluateAll(sc);
    sc.fire('evaluation_submission_due');
    sc.fire('evaluation_scoring_due');
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } });
    const events = sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } });
    expect(types(events).slice(-2)).toEqual(['RefillSkipped', 'EvaluationRoundOpened']);
  });
});
