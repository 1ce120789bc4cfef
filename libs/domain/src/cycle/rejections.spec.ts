import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy, policyHash } from '../policy/parse';
import type { CycleCommand } from './commands';
import type { CycleEvent } from './events';
import { applicantOf, applicationCommand, company, given, openCallCommand, openWithApplicants, pm, reviewer, Scenario, system, T0, types, university } from './testing';

const opened = (): CycleEvent[] => {
  const sc = openWithApplicants(defaultPolicy, 2);
  return sc.events;
};
const inReview = (): CycleEvent[] => {
  const sc = openWithApplicants(defaultPolicy, 2);
  sc.fire('call_close');
  return sc.events;
};
const review = (over: Partial<Extract<CycleCommand, { type: 'SubmitReview' }>['data']> = {}, actor = reviewer(1)): CycleCommand => ({
  type: 'SubmitReview',
  actor,
  data: { reviewId: 'r-1', applicationId: 'a1', scores: { technical: 7, team: 7, impact: 7 }, conflictOfInterest: { declared: false }, ...over },
});
const DAY_2 = '2027-01-06T09:00:00.000Z';
const IN_REVIEW = '2027-02-05T09:00:00.000Z';

describe('opening the call', () => {
  it('given nothing, when a program manager opens the call, then CallOpened carries the policy hash and dates', () => {
    given()
      .when(openCallCommand(defaultPolicy), T0)
      .then(([e]) => {
        expect(e.type).toBe('CallOpened');
        expect(e.data).toMatchObject({ cycleId: 'cycle:select-and-concentrate:2027', policyHash: policyHash(defaultPolicy), closesAt: '2027-02-03T09:00:00.000Z', nextCutoffAt: null });
      });
  });

  it('refuses a second opening, a wrong role and a mismatched policy hash', () => {
    given(...opened()).when(openCallCommand(defaultPolicy), T0).thenThrows('duplicate');
    given().when({ ...openCallCommand(defaultPolicy), actor: applicantOf('x') }, T0).thenThrows('forbidden');
    const cmd = openCallCommand(defaultPolicy) as Extract<CycleCommand, { type: 'OpenCall' }>;
    given().when({ ...cmd, data: { ...cmd.data, policyHash: 'f'.repeat(64) } }, T0).thenThrows('validation_failed', 'policyHash');
  });
});

describe('applications', () => {
  it('given an open call, when an applicant applies, then ApplicationSubmitted', () => {
    given(...opened())
      .when(applicationCommand('a9', [university('uni-1')]), DAY_2)
      .then([
        {
          type: 'ApplicationSubmitted',
          data: { applicationId: 'a9', title: 'Proposal a9', summary: null, lead: company('org-a9'), members: [university('uni-1')], submittedAt: DAY_2, submittedBy: 'user@org-a9', refillKey: null },
        },
      ]);
  });

  it('refuses late, duplicate, wrong-organisation, ineligible and invalid applications', () => {
    const events = opened();
    given(...events).when(applicationCommand('a9'), '2027-02-03T09:00:00.000Z').thenThrows('deadline_passed');
    given(...inReview()).when(applicationCommand('a9'), IN_REVIEW).thenThrows('deadline_passed');
    given(...events).when(applicationCommand('a1'), DAY_2).thenThrows('duplicate', 'applicationId');
    given(...events)
      .when({ type: 'SubmitApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1-second', title: 'again', lead: company('org-a1'), members: [] } }, DAY_2)
      .thenThrows('duplicate', 'lead.organisationId');
    given(...events)
      .when({ type: 'SubmitApplication', actor: applicantOf('org-x'), data: { applicationId: 'a9', title: 't', lead: company('org-y'), members: [] } }, DAY_2)
      .thenThrows('forbidden');
    given(...events)
      .when({ type: 'SubmitApplication', actor: applicantOf('uni-1'), data: { applicationId: 'a9', title: 't', lead: university('uni-1'), members: [] } }, DAY_2)
      .thenThrows('not_eligible', 'lead.type');
    given(...events)
      .when({ type: 'SubmitApplication', actor: applicantOf('org-a9'), data: { applicationId: 'A 9!', title: 't', lead: company('org-a9'), members: [] } }, DAY_2)
      .thenThrows('validation_failed', 'applicationId');
    given(...events).when({ type: 'SubmitApplication', actor: reviewer(1), data: { applicationId: 'a9', title: 't', lead: company('org-a9'), members: [] } }, DAY_2).thenThrows('forbidden');
  });

  it('enforces required consortium member types from the policy', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, eligibility: { ...s.eligibility, requiredMemberTypes: ['university'] } } : s)),
    });
    const sc = openWithApplicants(policy, 0);
    given(...sc.events).when(applicationCommand('a1'), DAY_2).thenThrows('not_eligible', 'members');
    given(...sc.events).when(applicationCommand('a1', [university('uni-1')]), DAY_2).then((e) => expect(e).toHaveLength(1));
  });

  it('closes the call after N applications, whichever comes first', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, closing: { deadline: 'P30D', afterApplications: 3 } } : s)),
    });
    const sc = openWithApplicants(policy, 2);
    given(...sc.events)
      .when(applicationCommand('a3'), DAY_2)
      .then((e) => expect(e.map((x) => x.type)).toEqual(['ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened']));
  });

  it('closes at a periodic cut-off once enough applications are in', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, closing: { deadline: 'P30D', cutoffEvery: 'P10D', minApplicationsAtCutoff: 3 } } : s)),
    });
    const sc = openWithApplicants(policy, 2);
    expect(sc.fire('call_cutoff')).toEqual([{ type: 'CallCutoffPassed', data: { at: '2027-01-14T09:00:00.000Z', applications: 2, nextCutoffAt: '2027-01-24T09:00:00.000Z' } }]);
    sc.run(applicationCommand('a3'));
    expect(sc.fire('call_cutoff').map((e) => e.type)).toEqual(['CallClosed', 'ReviewRoundOpened']);
  });
});

describe('reviews', () => {
  it('given an open review round, when a panel reviewer scores, then ReviewSubmitted', () => {
    given(...inReview())
      .when(review(), IN_REVIEW)
      .then([
        {
          type: 'ReviewSubmitted',
          data: { reviewId: 'r-1', roundKey: 'review:1', applicationId: 'a1', reviewer: 'reviewer-1', scores: { technical: 7, team: 7, impact: 7 }, verdicts: {}, submittedAt: IN_REVIEW },
        },
      ]);
  });

  it('refuses a reviewer from the lead organisation or a consortium member with conflict_of_interest', () => {
    const sc = openWithApplicants(defaultPolicy, 0);
    sc.at(DAY_2).run(applicationCommand('a1', [university('uni-1')]));
    sc.fire('call_close');
    sc.at(IN_REVIEW);
    const fromMember = sc.refuse(review({}, { role: 'reviewer', subject: 'reviewer-2', organisationId: 'uni-1' }), 'conflict_of_interest');
    expect(fromMember.reason).toMatch(/consortium member/);
    sc.refuse(review({}, { role: 'reviewer', subject: 'reviewer-2', organisationId: 'org-a1' }), 'conflict_of_interest');
    sc.refuse(review({ conflictOfInterest: { declared: true, note: 'former employee' } }), 'conflict_of_interest');
    sc.run({ type: 'DeclareConflictOfInterest', actor: reviewer(3), data: { applicationId: 'a1', reason: 'advisor to the lead' } });
    sc.refuse(review({ reviewId: 'r-3' }, reviewer(3)), 'conflict_of_interest');
  });

  it('refuses late, duplicate, off-panel, wrong-stage and out-of-scale reviews', () => {
    const events = inReview();
    given(...events).when(review(), '2027-02-24T09:00:00.000Z').thenThrows('deadline_passed');
    given(...opened()).when(review(), DAY_2).thenThrows('invalid_state');
    given(...events, { type: 'ReviewSubmitted', data: { reviewId: 'r-1', roundKey: 'review:1', applicationId: 'a1', reviewer: 'reviewer-1', scores: { technical: 7, team: 7, impact: 7 }, verdicts: {}, submittedAt: IN_REVIEW } })
      .when(review({ reviewId: 'r-2' }), IN_REVIEW)
      .thenThrows('duplicate');
    given(...events).when(review({}, { role: 'reviewer', subject: 'stranger', organisationId: 'x' }), IN_REVIEW).thenThrows('forbidden');
    given(...events).when(review({ scores: { technical: 11, team: 7, impact: 7 } }), IN_REVIEW).thenThrows('validation_failed', 'scores.technical');
    given(...events).when(review({ scores: { technical: 7, team: 7 } }), IN_REVIEW).thenThrows('validation_failed', 'scores.impact');
    given(...events).when(review({ applicationId: 'nope' }), IN_REVIEW).thenThrows('not_found');
    given(...events).when(review({ conflictOfInterest: undefined as never }), IN_REVIEW).thenThrows('validation_failed');
  });
});

describe('timers', () => {
  it('refuses a stale or unknown deadline and a non-system sender; never reads the clock', () => {
    const events = inReview();
    const passed = (deadline: string, at: string): CycleCommand => ({ type: 'DeadlinePassed', actor: system, data: { deadline: deadline as never, at } });
    given(...events).when(passed('call_close', '2027-02-03T09:00:00.000Z'), IN_REVIEW).thenThrows('conflict');
    given(...events).when(passed('review_due', '2027-02-20T09:00:00.000Z'), IN_REVIEW).thenThrows('conflict');
    // A timer armed for the deadline fired: it has passed, whatever `now` says (a replay may see another time).
    given(...events)
      .when(passed('review_due', '2027-02-24T09:00:00.000Z'), IN_REVIEW)
      .then((e) => expect(types(e)).toEqual(['ReviewDeadlineExtended', 'EscalationRaised']));
    given(...events).when(passed('lunch', IN_REVIEW), IN_REVIEW).thenThrows('validation_failed');
    given(...events).when({ ...passed('review_due', '2027-02-24T09:00:00.000Z'), actor: pm }, '2027-02-24T09:00:00.000Z').thenThrows('forbidden');
  });

  it('refuses commands for a stage the cycle is not in', () => {
    given(...inReview()).when({ type: 'ApproveSelection', actor: pm, data: {} }, IN_REVIEW).thenThrows('invalid_state');
    given(...inReview()).when({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } }, IN_REVIEW).thenThrows('invalid_state');
    given().when(applicationCommand('a1'), T0).thenThrows('invalid_state');
    given(...inReview()).when({ type: 'ApproveSelection', actor: reviewer(1), data: {} }, IN_REVIEW).thenThrows('forbidden');
  });
});

describe('a withdrawn application', () => {
  it('neither counts toward closing the call after N applications nor is listed when it closes', () => {
    const policy = parsePolicyForLimit(3);
    const sc = new Scenario();
    sc.run(openCallCommand(policy));
    sc.run(applicationCommand('a1'));
    sc.run(applicationCommand('w1'));
    sc.run({ type: 'WithdrawApplication', actor: applicantOf('org-w1'), data: { applicationId: 'w1' } });
    expect(types(sc.run(applicationCommand('a2')))).toEqual(['ApplicationSubmitted']);
    const closing = sc.run(applicationCommand('a3'));
    expect(types(closing).slice(0, 2)).toEqual(['ApplicationSubmitted', 'CallClosed']);
    expect(sc.last('CallClosed').data.applications).toEqual(['a1', 'a2', 'a3']);
  });
});

function parsePolicyForLimit(limit: number) {
  const call = { ...defaultPolicyDocument.stages[0], closing: { deadline: 'P30D', afterApplications: limit } };
  return parsePolicy({ ...defaultPolicyDocument, stages: [call, ...defaultPolicyDocument.stages.slice(1)] });
}
