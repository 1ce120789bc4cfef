import { defaultPolicy } from '../policy/defaults';
import { DomainError } from '../shared/errors';
import { RULES_VERSION } from '../scoring/rank';
import { admit } from './admit';
import type { CycleCommand } from './commands';
import { decide } from './decide';
import { applicationCommand, openCallCommand, openWithApplicants, pm, reviewAll, reviewer, Scenario, types, university } from './testing';

const review = (applicationId: string, actor = reviewer(1), extra: Record<string, unknown> = {}): CycleCommand => ({
  type: 'SubmitReview',
  actor,
  data: { reviewId: `r-${applicationId}-${actor.subject}`, applicationId, scores: { technical: 7, team: 7, impact: 7 }, conflictOfInterest: { declared: false }, ...extra },
});

function refusal(f: () => unknown): DomainError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('expected a refusal');
}

describe('the clock admits, the state decides', () => {
  it('decide accepts a review after its due instant while the round is still open; admit refuses it with the reason decide used to give', () => {
    const sc = openWithApplicants(defaultPolicy, 2);
    sc.fire('call_close');
    const dueAt = sc.running.deadlines.review_due!;
    const late = '2027-03-01T09:00:00.000Z';
    expect(types(decide(review('a1'), sc.state, late))).toEqual(['ReviewSubmitted']);
    const e = refusal(() => admit(review('a1'), sc.state, late));
    expect([e.code, e.field, e.reason]).toEqual(['deadline_passed', 'deadline', `the review was due by ${dueAt}`]);
    expect(() => admit(review('a1'), sc.state, '2027-02-10T09:00:00.000Z')).not.toThrow();
    // Once the deadline is applied (extended once for the missing scores, then closed), the state itself says the round has closed.
    sc.fire('review_due');
    sc.fire('review_due');
    expect(refusal(() => decide(review('a1'), sc.state, late)).code).toBe('deadline_passed');
  });

  it('admit lets another reason come first: decide gives it', () => {
    const sc = openWithApplicants(defaultPolicy, 2);
    sc.fire('call_close');
    const late = '2027-03-01T09:00:00.000Z';
    const stranger = { role: 'applicant' as const, subject: 'x', organisationId: 'org-a1' };
    expect(() => admit(review('a1', stranger), sc.state, late)).not.toThrow();
    expect(refusal(() => decide(review('a1', stranger), sc.state, late)).code).toBe('forbidden');
  });

  it('a call past its closing instant takes applications until the deadline is applied; admit refuses them', () => {
    const sc = openWithApplicants(defaultPolicy, 1);
    const after = '2027-02-03T09:00:00.001Z';
    expect(types(decide(applicationCommand('a9'), sc.state, after))).toEqual(['ApplicationSubmitted']);
    expect(refusal(() => admit(applicationCommand('a9'), sc.state, after)).reason).toBe('the application was due by 2027-02-03T09:00:00.000Z');
  });

  it('approvals and objections: late by the clock in admit, by the state in decide', () => {
    const sc = openWithApplicants(defaultPolicy, 6);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    const due = sc.running.deadlines.selection_approval_due!;
    const approve: CycleCommand = { type: 'ApproveSelection', actor: pm, data: {} };
    expect(refusal(() => admit(approve, sc.state, due)).code).toBe('deadline_passed');
    expect(types(decide(approve, sc.state, due))).toContain('AwardeesSelected');
  });

  it('DeadlinePassed never reads the clock, and a stale one is still refused', () => {
    const sc = openWithApplicants(defaultPolicy, 2);
    const at = sc.running.deadlines.call_close!;
    const passed: CycleCommand = { type: 'DeadlinePassed', actor: { role: 'system', subject: 'workflow' }, data: { deadline: 'call_close', at } };
    expect(() => admit(passed, sc.state, '2027-01-05T00:00:00.000Z')).not.toThrow();
    expect(types(decide(passed, sc.state, '2027-01-05T00:00:00.000Z'))).toEqual(['CallClosed', 'ReviewRoundOpened']);
    expect(refusal(() => decide({ ...passed, data: { deadline: 'call_close', at: '2027-02-01T09:00:00.000Z' } }, sc.state, at)).code).toBe('conflict');
  });
});

describe('conflicts of interest without member lists in the state', () => {
  it('named panel members from the consortium are worked out when the application comes in and when its membership changes', () => {
    const sc = new Scenario();
    const panel = { reviewers: [1, 2].map(reviewer).map((r, i) => (i === 1 ? { ...r, organisationId: 'uni-1' } : r)), evaluators: [] };
    sc.run(openCallCommand(defaultPolicy, panel));
    sc.afterDays(1).run(applicationCommand('a1', [university('uni-1')]));
    expect(sc.running.applications.a1.conflicted).toEqual(['reviewer-2']);
    sc.run({ type: 'ApproveMembershipChange', actor: pm, data: { applicationId: 'a1', members: [university('uni-3')], rationale: 'uni-3 replaces uni-1' } });
    expect(sc.running.applications.a1.conflicted).toBeUndefined();
  });

  it('a scorer not on a named panel is checked against the consortium the command carries, and needs it', () => {
    const sc = new Scenario();
    sc.run(openCallCommand(defaultPolicy, { reviewers: [], evaluators: [] }));
    sc.afterDays(1).run(applicationCommand('a1', [university('uni-1')]));
    sc.fire('call_close');
    const outsider = { role: 'reviewer' as const, subject: 'outsider', organisationId: 'uni-1' };
    // The API fills in the consortium (the scenario does the same from the events).
    expect(sc.refuse(review('a1', outsider), 'conflict_of_interest').reason).toMatch(/consortium member/);
    const bare = review('a1', outsider, { consortium: undefined });
    expect(refusal(() => decide(bare, sc.state, sc.now))).toMatchObject({ code: 'validation_failed', field: 'consortium' });
    expect(refusal(() => decide(review('a1', outsider, { consortium: ['uni-1'] }), sc.state, sc.now))).toMatchObject({ code: 'validation_failed', field: 'consortium' });
    expect(types(sc.run(review('a1', { role: 'reviewer', subject: 'independent', organisationId: 'uni-9' })))).toEqual(['ReviewSubmitted']);
    expect(sc.refuse(review('a1', { role: 'reviewer', subject: 'insider', organisationId: 'org-a1' }), 'conflict_of_interest').reason).toMatch(/lead organisation/);
  });
});

describe('the rules version', () => {
  it('is recorded when the call opens and kept by the cycle', () => {
    const sc = openWithApplicants(defaultPolicy, 0);
    expect(sc.last('CallOpened').data.rulesVersion).toBe(RULES_VERSION);
    expect(sc.running.rulesVersion).toBe(RULES_VERSION);
  });
});
