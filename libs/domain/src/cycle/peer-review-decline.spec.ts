import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { addDays } from '../shared/time';
import type { CycleCommand, Organisation } from './commands';
import { owed } from './obligations';
import { peerAssignments } from './peer-review-state';
import { Scenario, T0, applicantOf, company, openCallCommand, reviewAll, types, university } from './testing';

const policy = (perApplicant = 2) => {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  return parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, peerReview: { perApplicant, weight: 0.5, onMissedReviews: 'reject_own_application' } }, ...rest] });
};

/** `n` applications a1..an; a1 and a2 share a university (they may not review each other). The call is closed: peers are assigned. */
function assigned(n = 6, perApplicant = 2): Scenario {
  const sc = new Scenario();
  sc.run(openCallCommand(policy(perApplicant)));
  for (let i = 1; i <= n; i++) {
    const members: Organisation[] = i <= 2 ? [university('uni-shared')] : [];
    sc.at(addDays(T0, 1 + i * 0.01));
    sc.run({ type: 'SubmitApplication', actor: applicantOf(`org-a${i}`), data: { applicationId: `a${i}`, title: `Proposal a${i}`, lead: company(`org-a${i}`), members } });
  }
  sc.fire('call_close');
  return sc;
}

const round = (sc: Scenario) => sc.running.rounds[sc.running.currentRound!];
const reviewsOf = (sc: Scenario, id: string) => peerAssignments(round(sc), id);
const received = (sc: Scenario, ids: string[]) => Object.fromEntries(ids.map((t) => [t, ids.filter((r) => reviewsOf(sc, r).includes(t)).length]));
const ids6 = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const decline = (by: string, of: string, reason: unknown = 'my co-author leads it'): CycleCommand => ({ type: 'DeclineReviewAssignment', actor: applicantOf(`org-${by}`), data: { applicationId: of, reason } as never });
const peerReview = (by: string, of: string): CycleCommand => ({
  type: 'SubmitReview',
  actor: applicantOf(`org-${by}`),
  data: { reviewId: `peer-${by}-${of}`, applicationId: of, scores: { technical: 6, team: 6, impact: 6 }, conflictOfInterest: { declared: false } },
});
const owes = (sc: Scenario, id: string) => owed(sc.state).filter((o) => o.what === 'peer_review' && o.who.organisationId === `org-${id}`).map((o) => o.applicationId);

describe('distributed peer review: an applicant declines an assigned review', () => {
  it('given every applicant owes its full share, when one declines, then another that may review it takes it in exchange for one of its own, and every load and count stays as assigned', () => {
    const sc = assigned();
    const [first, second] = reviewsOf(sc, 'a3');
    const before = received(sc, ids6);
    const events = sc.run(decline('a3', first));
    expect(types(events)).toEqual(['PeerReviewAssignmentDeclined']);
    const d = sc.last('PeerReviewAssignmentDeclined').data;
    expect(d).toMatchObject({ applicationId: first, reviewer: 'a3', by: 'user@org-a3', reason: 'my co-author leads it', replacement: { reason: 'exchanged' } });
    const { reviewer: taker, gives } = d.replacement as { reviewer: string; gives: string };
    expect(d.instead).toBe(gives);
    // The taker reviews the declined application instead of what it gave; never its own, never a conflicting one.
    expect(reviewsOf(sc, taker)).toContain(first);
    expect(reviewsOf(sc, taker)).not.toContain(gives);
    expect([taker, first].sort()).not.toEqual(['a1', 'a2']);
    expect(taker).not.toBe(first);
    expect(reviewsOf(sc, 'a3')).toEqual([second, gives]);
    expect(gives).not.toBe('a3');
    expect(received(sc, ids6)).toEqual(before);
    for (const id of ids6) expect(reviewsOf(sc, id)).toHaveLength(2);
    // What a3 owes follows, and it can no longer review the declined one.
    expect(owes(sc, 'a3')).toEqual([second, gives]);
    expect(owes(sc, taker)).toContain(first);
    expect(sc.refuse(peerReview('a3', first), 'forbidden').field).toBe('applicationId');
    expect(sc.run(peerReview('a3', gives))).toEqual([expect.objectContaining({ type: 'ReviewSubmitted' })]);

    // The same decline on the same history gives the same replacement (seeded).
    const again = assigned();
    again.run(decline('a3', first));
    expect(again.last('PeerReviewAssignmentDeclined').data).toEqual(d);
  });

  it('given an applicant with room (one it reviewed withdrew), when another declines, then the one with room takes it and the decliner gets the least reviewed application it may review', () => {
    const sc = assigned();
    const [first] = reviewsOf(sc, 'a3');
    // Withdraw an application that a3 does not review and that does not review first.
    const gone = ids6.find((id) => id !== 'a3' && id !== first && !reviewsOf(sc, 'a3').includes(id) && !reviewsOf(sc, id).includes(first))!;
    sc.run({ type: 'WithdrawApplication', actor: applicantOf(`org-${gone}`), data: { applicationId: gone } });
    const withRoom = ids6.filter((r) => r !== gone && reviewsOf(sc, r).includes(gone));
    sc.run(decline('a3', first));
    const d = sc.last('PeerReviewAssignmentDeclined').data;
    expect(d.replacement?.reason).toBe('had_room');
    expect(withRoom).toContain(d.replacement!.reviewer);
    expect(d.instead).not.toBeNull();
    expect(d.instead).not.toBe(first);
    expect(d.instead).not.toBe(gone);
    expect(reviewsOf(sc, 'a3')).toHaveLength(2);
    expect(reviewsOf(sc, d.replacement!.reviewer)).toContain(first);
  });

  it('given nobody else may review it and nothing is free, when an applicant declines, then the decline is recorded with no replacement and it owes what is left', () => {
    // a1 and a2 share a university: each may review only a3; a3 reviews both.
    const sc = assigned(3);
    expect(reviewsOf(sc, 'a1')).toEqual(['a3']);
    sc.run(decline('a1', 'a3'));
    expect(sc.last('PeerReviewAssignmentDeclined').data).toMatchObject({ replacement: null, instead: null });
    expect(owes(sc, 'a1')).toEqual([]);
    reviewAll(sc);
    sc.run(peerReview('a2', 'a3'));
    for (const t of reviewsOf(sc, 'a3')) sc.run(peerReview('a3', t));
    // Nothing was owed by a1 any more: no application misses its reviews.
    expect(types(sc.fire('review_due'))).not.toContain('PeerReviewsMissed');
  });

  it('given a decline, when the decliner does not review what it got in place, then the missed-reviews rule meets it at the deadline', () => {
    const sc = assigned();
    const [first, second] = reviewsOf(sc, 'a3');
    sc.run(decline('a3', first));
    const instead = sc.last('PeerReviewAssignmentDeclined').data.instead!;
    reviewAll(sc);
    for (const by of ids6) for (const t of reviewsOf(sc, by)) if (by !== 'a3' || t === second) sc.run(peerReview(by, t));
    const closed = sc.fire('review_due');
    expect(types(closed)[0]).toBe('PeerReviewsMissed');
    expect(closed[0].data).toMatchObject({ applicationId: 'a3', assigned: [second, instead], missing: [instead], rule: 'reject_own_application' });
    expect(types(closed).filter((t) => t === 'PeerReviewsMissed')).toHaveLength(1);
  });

  it('given an applicant declares a conflict with an assigned application, then the conflict is recorded and the review is declined and replaced', () => {
    const sc = assigned();
    const [first] = reviewsOf(sc, 'a4');
    const events = sc.run({ type: 'DeclareConflictOfInterest', actor: applicantOf('org-a4'), data: { applicationId: first, reason: 'former employer' } });
    expect(types(events)).toEqual(['ConflictOfInterestDeclared', 'PeerReviewAssignmentDeclined']);
    expect(events[1].data).toMatchObject({ applicationId: first, reviewer: 'a4', reason: 'declared conflict of interest: former employer', replacement: { reason: 'exchanged' } });
    expect(reviewsOf(sc, 'a4')).not.toContain(first);
    expect(reviewsOf(sc, 'a4')).toHaveLength(2);
  });

  it('refuses a decline without a reason, of an application not assigned, already reviewed, declined before, or after the round closed, and changes nothing', () => {
    const sc = assigned();
    const [first, second] = reviewsOf(sc, 'a3');
    const notAssigned = ids6.find((id) => id !== 'a3' && !reviewsOf(sc, 'a3').includes(id))!;
    expect(sc.refuse(decline('a3', first, ''), 'validation_failed').field).toBe('reason');
    expect(sc.refuse(decline('a3', notAssigned), 'forbidden').field).toBe('applicationId');
    expect(sc.refuse(decline('a3', 'a3'), 'forbidden').field).toBe('applicationId');
    expect(sc.refuse({ ...decline('a3', first), actor: applicantOf('org-elsewhere') }, 'forbidden').field).toBe('applicationId');
    sc.run(peerReview('a3', second));
    expect(sc.refuse(decline('a3', second), 'duplicate').field).toBe('applicationId');
    sc.run(decline('a3', first));
    expect(sc.refuse(decline('a3', first), 'forbidden').field).toBe('applicationId');
    reviewAll(sc);
    // At the deadline instant, and once the round has closed (everyone else reviewed what it owed).
    const other = ids6.find((id) => id !== 'a3')!;
    const [pending, ...rest] = reviewsOf(sc, other);
    for (const by of ids6) for (const t of reviewsOf(sc, by)) if (!(by === 'a3' && t === second) && !(by === other && t === pending)) sc.run(peerReview(by, t));
    sc.at(sc.running.deadlines.review_due!);
    expect(sc.refuse(decline(other, pending), 'deadline_passed').field).toBe('deadline');
    expect(types(sc.fire('review_due'))).toContain('ReviewRoundClosed');
    expect(sc.running.stage).toBe('selection');
    expect(sc.refuse(decline(other, rest[0] ?? pending), 'deadline_passed').field).toBe('stage');
  });

  it('refuses a decline of an application withdrawn since it was assigned (nothing is owed for it)', () => {
    const sc = assigned();
    const withdrawn = 'a6';
    const reviewer = ids6.find((id) => reviewsOf(sc, id).includes(withdrawn))!;
    sc.run({ type: 'WithdrawApplication', actor: applicantOf(`org-${withdrawn}`), data: { applicationId: withdrawn } });
    expect(owes(sc, reviewer)).not.toContain(withdrawn);
    expect(sc.refuse(decline(reviewer, withdrawn), 'invalid_state').field).toBe('applicationId');
  });
});
