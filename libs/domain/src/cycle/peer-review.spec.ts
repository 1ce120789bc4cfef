import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { namedRanking } from '../scoring/record';
import { addDays } from '../shared/time';
import type { CycleCommand, Organisation } from './commands';
import type { CycleEvent } from './events';
import { noticesFor } from './notices';
import { owed } from './obligations';
import { Scenario, T0, applicantOf, company, openCallCommand, reviewAll, types, university } from './testing';

type OnMissed = 'none' | 'reject_own_application' | { penalty: number };

function peerPolicy(onMissedReviews: OnMissed, weight = 0.5) {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  return parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, peerReview: { perApplicant: 2, weight, onMissedReviews } }, ...rest] });
}

/** Six applications a1..a6; a1 and a2 share a university in their consortia (they may not review each other). */
function callOf(policy: ReturnType<typeof peerPolicy>, lotterySeed = 'published-seed-2027'): Scenario {
  const sc = new Scenario();
  sc.run({ ...openCallCommand(policy), data: { ...(openCallCommand(policy).data as object), lotterySeed } } as CycleCommand);
  for (let i = 1; i <= 6; i++) {
    const id = `a${i}`;
    const members: Organisation[] = i <= 2 ? [university('uni-shared')] : [];
    sc.at(addDays(T0, 1 + i * 0.01));
    sc.run({ type: 'SubmitApplication', actor: applicantOf(`org-${id}`), data: { applicationId: id, title: `Proposal ${id}`, lead: company(`org-${id}`), members } });
  }
  return sc;
}

const assignments = (sc: Scenario) => new Map(sc.last('PeerReviewersAssigned').data.assignments.map((a) => [a.applicationId, a.reviews]));

const peerReview = (by: string, of: string, score = 6): CycleCommand => ({
  type: 'SubmitReview',
  actor: applicantOf(`org-${by}`),
  data: { reviewId: `peer-${by}-${of}`, applicationId: of, scores: { technical: score, team: score, impact: score }, conflictOfInterest: { declared: false } },
});

/** Every applicant but those in `skip` reviews all it is assigned; `partly` reviews only its first. */
function peersReview(sc: Scenario, skip: string[], partly: string[] = []): void {
  for (const [by, reviews] of assignments(sc)) {
    if (skip.includes(by)) continue;
    for (const of of partly.includes(by) ? reviews.slice(0, 1) : reviews) sc.run(peerReview(by, of));
  }
}

const totals = (e: CycleEvent) => Object.fromEntries(namedRanking((e as Extract<CycleEvent, { type: 'ReviewRoundClosed' }>).data.result).map((r) => [r.candidateId, r.total]));

describe('distributed peer review', () => {
  it('given a call with peer review, when it closes, then every applicant is assigned two others, never its own or a conflicting one, and the same seed assigns the same way', () => {
    const sc = callOf(peerPolicy('reject_own_application'));
    expect(types(sc.fire('call_close'))).toEqual(['CallClosed', 'ReviewRoundOpened', 'PeerReviewersAssigned']);
    const assigned = sc.last('PeerReviewersAssigned').data;
    for (const a of assigned.assignments) {
      expect(a.reviews).toHaveLength(2);
      expect(a.reviews).not.toContain(a.applicationId);
    }
    expect(assignments(sc).get('a1')).not.toContain('a2');
    expect(assignments(sc).get('a2')).not.toContain('a1');
    expect(assigned.assignments.find((a) => a.applicationId === 'a1')!.conflicts).toEqual({ consortium_member: ['a2'] });
    expect(Object.values(assigned.received)).toEqual([2, 2, 2, 2, 2, 2]); // twelve reviews, balanced
    expect(assigned).toMatchObject({ perApplicant: 2, weight: 0.5, short: [], seed: 'published-seed-2027:review:1:peer', dueAt: sc.running.deadlines.review_due });

    const again = callOf(peerPolicy('reject_own_application'));
    again.fire('call_close');
    expect(again.last('PeerReviewersAssigned').data.assignments).toEqual(assigned.assignments);
    const other = callOf(peerPolicy('reject_own_application'), 'another-seed');
    other.fire('call_close');
    expect(other.last('PeerReviewersAssigned').data.assignments).not.toEqual(assigned.assignments);
  });

  it('given a membership change before the call closes, then the new shared organisation is a conflict, the old one no longer, and no member list is kept', () => {
    const sc = callOf(peerPolicy('none'));
    expect(sc.running.applications.a2.sharesOrganisationWith).toEqual(['a1']);
    sc.run({ type: 'ApproveMembershipChange', actor: { role: 'program_manager', subject: 'pm-1' }, data: { applicationId: 'a2', members: [university('org-a5')], rationale: 'partner swapped' } });
    expect(sc.running.applications.a2.sharesOrganisationWith).toEqual(['a5']);
    expect(sc.running.applications.a1.sharesOrganisationWith).toBeUndefined();
    expect(JSON.stringify(sc.running.applications)).not.toContain('uni-shared');
    sc.fire('call_close');
    const conflicts = new Map(sc.last('PeerReviewersAssigned').data.assignments.map((a) => [a.applicationId, a.conflicts]));
    expect(conflicts.get('a2')).toEqual({ consortium_member: ['a5'] });
    expect(conflicts.get('a5')).toEqual({ consortium_member: ['a2'] });
    expect(conflicts.get('a1')).toBeUndefined();
  });

  it('given assignments, when applicants score, then only their assigned applications are accepted, once each, and what they still owe is listed with its due date', () => {
    const sc = callOf(peerPolicy('reject_own_application'));
    sc.fire('call_close');
    const [first, second] = assignments(sc).get('a3')!;
    const notAssigned = ['a1', 'a2', 'a4', 'a5', 'a6'].find((id) => id !== first && id !== second)!;
    const dueAt = sc.running.deadlines.review_due;
    const a3Owes = () => owed(sc.state).filter((o) => o.what === 'peer_review' && o.who.organisationId === 'org-a3');
    expect(a3Owes().map((o) => [o.applicationId, o.dueAt, o.who.role])).toEqual([
      [first, dueAt, 'applicant'],
      [second, dueAt, 'applicant'],
    ]);

    expect(sc.run(peerReview('a3', first))).toEqual([
      expect.objectContaining({ type: 'ReviewSubmitted', data: expect.objectContaining({ applicationId: first, reviewer: 'user@org-a3', peerOf: 'a3' }) }),
    ]);
    expect(a3Owes().map((o) => o.applicationId)).toEqual([second]);
    expect(sc.refuse(peerReview('a3', first), 'duplicate').field).toBe('applicationId');
    expect(sc.refuse(peerReview('a3', notAssigned), 'forbidden').field).toBe('applicationId');
    expect(sc.refuse(peerReview('a3', 'a3'), 'forbidden').field).toBe('applicationId');
    expect(sc.refuse({ ...peerReview('a3', second), actor: applicantOf('org-elsewhere') }, 'forbidden').field).toBe('actor.organisationId');
    const declared = peerReview('a3', second) as Extract<CycleCommand, { type: 'SubmitReview' }>;
    sc.refuse({ ...declared, data: { ...declared.data, conflictOfInterest: { declared: true } } }, 'conflict_of_interest');
    // The panel reviews as before.
    reviewAll(sc);
  });

  it('given a policy without peer review, when an applicant sends a review, then it is refused as before (only reviewers may)', () => {
    const sc = new Scenario();
    sc.run(openCallCommand(defaultPolicy));
    sc.run({ type: 'SubmitApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1', title: 'P', lead: company('org-a1'), members: [] } });
    sc.run({ type: 'SubmitApplication', actor: applicantOf('org-a2'), data: { applicationId: 'a2', title: 'P', lead: company('org-a2'), members: [] } });
    expect(types(sc.fire('call_close'))).toEqual(['CallClosed', 'ReviewRoundOpened']);
    expect(sc.refuse(peerReview('a1', 'a2'), 'forbidden').field).toBe('actor.role');
  });

  it('given reject_own_application, when the round closes with reviews owed, then the applicants who owe them are rejected by the rule before the ranking', () => {
    const sc = callOf(peerPolicy('reject_own_application'));
    sc.fire('call_close');
    reviewAll(sc);
    peersReview(sc, ['a4'], ['a5']);
    const closed = sc.fire('review_due');
    expect(types(closed)).toEqual(['PeerReviewsMissed', 'PeerReviewsMissed', 'ReviewRoundClosed', 'SelectionProposed']);
    expect(closed[0].data).toMatchObject({ applicationId: 'a4', assigned: assignments(sc).get('a4'), missing: assignments(sc).get('a4'), rule: 'reject_own_application', penalty: null });
    expect(closed[1].data).toMatchObject({ applicationId: 'a5', missing: assignments(sc).get('a5')!.slice(1), rule: 'reject_own_application' });
    expect(sc.running.applications.a4.status).toBe('dropped_in_review');
    expect(sc.running.applications.a5.status).toBe('dropped_in_review');
    expect(Object.keys(totals(closed[2])).sort()).toEqual(['a1', 'a2', 'a3', 'a6']);
    expect(sc.last('SelectionProposed').data.candidates).not.toContain('a4');
    // The rejected applicants are told, as applications dropped in review, with the reason.
    const notices = closed.slice(0, 2).flatMap((e, i) => noticesFor({ eventId: `e${i}`, streamId: 'cycle:p:2027', type: e.type, data: e.data as never, occurredAt: T0 }));
    expect(notices.map((n) => [n.kind, n.recipient, n.body])).toEqual([
      ['dropped_in_review', { role: 'applicant', applicationId: 'a4' }, { applicationId: 'a4', round: 1, reason: 'peer_reviews_missed' }],
      ['dropped_in_review', { role: 'applicant', applicationId: 'a5' }, { applicationId: 'a5', round: 1, reason: 'peer_reviews_missed' }],
    ]);
  });

  it('given a penalty, when an applicant misses its reviews, then its total loses the points; given none, then it is only recorded', () => {
    const penalised = callOf(peerPolicy({ penalty: 20 }, 1));
    const recorded = callOf(peerPolicy('none', 1));
    for (const sc of [penalised, recorded]) {
      sc.fire('call_close');
      reviewAll(sc);
      peersReview(sc, ['a4']);
    }
    // Same assignments (same seed, same applications), same reviews: only the rule differs.
    expect(assignments(penalised)).toEqual(assignments(recorded));
    const withPenalty = penalised.fire('review_due');
    const withNone = recorded.fire('review_due');
    expect(withPenalty[0].data).toMatchObject({ applicationId: 'a4', rule: 'penalty', penalty: 20 });
    expect(withNone[0].data).toMatchObject({ applicationId: 'a4', rule: 'none', penalty: null });
    expect(types(withNone).slice(1)).toEqual(['ReviewRoundClosed', 'SelectionProposed']);
    const [p, n] = [totals(withPenalty[1]), totals(withNone[1])];
    expect(p.a4).toBeCloseTo(n.a4 - 20, 6);
    for (const id of ['a1', 'a2', 'a3', 'a5', 'a6']) expect(p[id]).toBe(n[id]);
    expect(recorded.running.applications.a4.status).toBe('submitted');
    expect(noticesFor({ eventId: 'e', streamId: 'cycle:p:2027', type: withNone[0].type, data: withNone[0].data as never, occurredAt: T0 })).toEqual([]);
  });

  it("given a weight of 0.5, when the round is ranked, then a peer review counts half a panel review in the application's mean", () => {
    const sc = callOf(peerPolicy('none', 0.5));
    sc.fire('call_close');
    reviewAll(sc, () => ({ technical: 6, team: 6, impact: 6 }));
    const reviewersOfA3 = [...assignments(sc)].filter(([, reviews]) => reviews.includes('a3')).map(([by]) => by);
    expect(reviewersOfA3).toHaveLength(2);
    for (const by of reviewersOfA3) sc.run(peerReview(by, 'a3', 10));
    const closed = sc.fire('review_due');
    // Three panel sheets of 0.6 and two peer sheets of 1.0 at half weight: (3 x 0.6 + 2 x 0.5 x 1.0) / 4 = 0.7.
    const t = totals(closed.find((e) => e.type === 'ReviewRoundClosed')!);
    expect(t.a3).toBeCloseTo(70, 6);
    expect(t.a1).toBeCloseTo(60, 6);
  });

  it('given peer review and a late review, when it comes after the deadline instant, then it is refused as late', () => {
    const sc = callOf(peerPolicy('none'));
    sc.fire('call_close');
    const [first] = assignments(sc).get('a3')!;
    sc.at(sc.running.deadlines.review_due!);
    sc.refuse(peerReview('a3', first), 'deadline_passed');
  });
});
