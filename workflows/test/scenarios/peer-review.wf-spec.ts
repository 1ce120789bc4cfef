/**
 * Distributed peer review (issue 15, item 2) as policy data, run through the cycle workflow on the
 * time-skipping test server: applicants are assigned each other's applications as the call closes,
 * score them through the same Update as reviewers, one misses its reviews and the policy rejects its
 * application at the deadline, the peer reviews' weight shows in the ranking, reminders reach the
 * applicants, and the auditor's `rederive` re-derives every peer-review event. An applicant that
 * declines an assigned review (or declares a conflict with it) is replaced, and given another.
 */
import { defaultPolicyDocument, parsePolicy, type CycleCommand } from '@concentra/domain';
import { rederive, timeline } from '@concentra/audit';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, applyAll, byRank, cancelAndDrain, expectRefused, reviewAll } from '../cycle-drivers';
import { applicantOf, pm } from '../../../libs/domain/src/cycle/testing';
import { recordHistoryFixture } from '../../../test/support/histories';

const WEIGHT = 0.5;
const peerReviewing = parsePolicy({
  ...defaultPolicyDocument,
  stages: defaultPolicyDocument.stages.map((s) =>
    s.kind === 'review'
      ? { ...s, peerReview: { perApplicant: 2, weight: WEIGHT, onMissedReviews: 'reject_own_application' } }
      : s.kind === 'selection'
        ? { ...s, minAwardees: 3, maxAwardees: 4 }
        : s,
  ),
});
const rank = (id: string) => Number(id.slice(1));

describe('programs: distributed peer review', () => {
  const harness = useCycleHarness();

  it('applicants review their assigned applications, one misses its reviews and is rejected by the rule, peer reviews count at their weight in the ranking', async () => {
    const run = await harness.start(peerReviewing, { panel: PANEL });
    const ids = await applyAll(run, 6);
    expect((await run.passDeadline('call_close')).stage).toBe('review');
    const [assigned] = await run.eventsOf('PeerReviewersAssigned');
    const reviews = new Map<string, string[]>(assigned.data.assignments.map((a: { applicationId: string; reviews: string[] }) => [a.applicationId, a.reviews]));
    for (const [by, these] of reviews) {
      expect(these).toHaveLength(2);
      expect(these).not.toContain(by);
    }
    const dueAt = assigned.data.dueAt as string;
    // The applicant that will miss its reviews: one that does not review a6 (whose peers lift it above a5 below).
    const skipper = ['a4', 'a3', 'a2', 'a1'].find((id) => !reviews.get(id)!.includes('a6'))!;
    const owed = (await run.owed()).filter((o) => o.what === 'peer_review');
    expect(owed).toHaveLength(12);
    expect(owed.every((o) => o.dueAt === dueAt && o.who.role === 'applicant')).toBe(true);

    // Applicants score as reviewers do, through the same command; a6 gets full marks from its peers, the others their panel score.
    const peerReview = (by: string, of: string): CycleCommand => {
      const v = of === 'a6' ? 10 : 10 - rank(of);
      return { type: 'SubmitReview', actor: applicantOf(`org-${by}`), data: { reviewId: `peer-${by}-${of}`, applicationId: of, scores: { technical: v, team: v, impact: v }, conflictOfInterest: { declared: false } } };
    };
    const notAssigned = ids.find((id) => id !== 'a1' && !reviews.get('a1')!.includes(id))!;
    await expectRefused(run, peerReview('a1', notAssigned), 'forbidden');
    await reviewAll(run, ids, byRank);
    for (const [by, these] of reviews) if (by !== skipper) for (const of of these) expect((await run.send(peerReview(by, of))).events).toEqual(['ReviewSubmitted']);
    expect((await run.owed()).filter((o) => o.what === 'peer_review').map((o) => [o.who.organisationId, o.applicationId])).toEqual(reviews.get(skipper)!.map((of) => [`org-${skipper}`, of]));

    expect((await run.passDeadline('review_due')).stage).toBe('selection');
    // Reminders reached the applicants that owed peer reviews, like any other reminder (policy: P7D and P1D before).
    const reminders = await harness.outbox(run.id, 'reminder');
    const toSkipper = reminders.filter((r) => JSON.stringify(r.recipient).includes(`org-${skipper}`) && JSON.stringify(r.body).includes('peer_review'));
    expect(toSkipper.length).toBe(2);

    // ... and the rejected one is told why, as an application dropped in review.
    const told = (await harness.outbox(run.id, 'dropped_in_review')).filter((r) => JSON.stringify(r.body).includes('peer_reviews_missed'));
    expect(told.map((r) => (r.body as { applicationId: string }).applicationId)).toEqual([skipper]);
    const [missed] = await run.eventsOf('PeerReviewsMissed');
    expect(missed.data).toMatchObject({ applicationId: skipper, missing: reviews.get(skipper), rule: 'reject_own_application' });
    expect((await run.eventsOf('PeerReviewsMissed')).length).toBe(1);
    const [closed] = await run.eventsOf('ReviewRoundClosed');
    const totals = new Map<string, number>(closed.data.result.ranking.map((r: { candidateId: string; total: number }) => [r.candidateId, r.total]));
    const ahead = ['a1', 'a2', 'a3', 'a4'].filter((id) => id !== skipper);
    expect([...totals.keys()]).toEqual([...ahead, 'a6', 'a5']); // the skipper rejected; a6 lifted above a5 by its peers
    // a6: three panel sheets of 0.4 and two peer sheets of 1.0 at weight 0.5: (1.2 + 1.0) / 4 = 0.55 (at weight 1 it would be 0.64).
    expect(totals.get('a6')).toBeCloseTo(55, 6);
    expect(totals.get('a5')).toBeCloseTo(50, 6);
    const [proposal] = await run.eventsOf('SelectionProposed');
    expect(proposal.data.proposed).toEqual([...ahead, 'a6']);

    expect((await run.send({ type: 'ApproveSelection', actor: pm, data: {} })).events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    const events = await run.events();
    const entry = timeline(events).find((e) => e.type === 'PeerReviewsMissed')!;
    expect(entry.who).toBe('policy');
    expect(entry.summary).toBe(`"${skipper}" submitted 0 of its 2 assigned peer review(s) by the deadline (missing ${reviews.get(skipper)!.join(', ')}); its application was rejected by the policy's peer-review rule (onMissedReviews: reject_own_application)`);
    const audit = rederive(events);
    expect(audit.decisions.map((d) => [d.decisionKey, d.kind, d.ok])).toEqual([
      ['review:1:peer-assignment', 'peer_assignment', true],
      [`review:1:peer-reviews-missed:${skipper}`, 'peer_reviews_missed', true],
      ['review:1', 'review_round', true],
      ['selection', 'selection', true],
    ]);
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'peer-review-missed-reviews-rejected'); // replayed by workflows/test/replay.wf-spec.ts
  });

  it('an applicant declines an assigned review and another declares a conflict: each is replaced, what they owe follows, nobody misses, and the auditor re-derives it', async () => {
    const run = await harness.start(peerReviewing, { panel: PANEL });
    const ids = await applyAll(run, 6);
    await run.passDeadline('call_close');
    const owes = async (id: string) => (await run.owed()).filter((o) => o.what === 'peer_review' && o.who.organisationId === `org-${id}`).map((o) => o.applicationId as string);
    const [declined, kept] = await owes('a3');

    const decline: CycleCommand = { type: 'DeclineReviewAssignment', actor: applicantOf('org-a3'), data: { applicationId: declined, reason: 'we co-authored its proposal' } };
    await expectRefused(run, { ...decline, data: { ...decline.data, reason: '' } }, 'validation_failed');
    expect((await run.send(decline)).events).toEqual(['PeerReviewAssignmentDeclined']);
    const [first] = await run.eventsOf('PeerReviewAssignmentDeclined');
    const d = first.data as { replacement: { reviewer: string; reason: string; gives?: string } | null; instead: string | null };
    // Six applicants owing two each: the declined review goes to one that may review it, in exchange for one the decliner may review.
    expect(d.replacement).toMatchObject({ reason: 'exchanged' });
    expect(d.instead).toBe(d.replacement!.gives);
    expect(await owes('a3')).toEqual([kept, d.instead]);
    expect(await owes(d.replacement!.reviewer)).toContain(declined);
    const peerReview = (by: string, of: string): CycleCommand => ({
      type: 'SubmitReview',
      actor: applicantOf(`org-${by}`),
      data: { reviewId: `peer-${by}-${of}`, applicationId: of, scores: { technical: 6, team: 6, impact: 6 }, conflictOfInterest: { declared: false } },
    });
    await expectRefused(run, peerReview('a3', declined), 'forbidden');

    const [conflicted] = await owes('a5');
    const conflict = await run.send({ type: 'DeclareConflictOfInterest', actor: applicantOf('org-a5'), data: { applicationId: conflicted, reason: 'former employer' } });
    expect(conflict.events).toEqual(['ConflictOfInterestDeclared', 'PeerReviewAssignmentDeclined']);
    expect(await owes('a5')).not.toContain(conflicted);
    expect(await owes('a5')).toHaveLength(2);

    // Everyone reviews what it owes now (the panel too); nobody misses its reviews.
    await reviewAll(run, ids, byRank);
    for (const by of ids) for (const of of await owes(by)) expect((await run.send(peerReview(by, of))).events).toEqual(['ReviewSubmitted']);
    expect((await run.owed()).filter((o) => o.what === 'peer_review')).toEqual([]);
    expect((await run.passDeadline('review_due')).stage).toBe('selection');
    await expectRefused(run, { ...decline, data: { applicationId: kept, reason: 'too late' } }, 'deadline_passed');
    expect(await run.eventsOf('PeerReviewsMissed')).toEqual([]);

    const events = await run.events();
    const line = timeline(events).find((e) => e.type === 'PeerReviewAssignmentDeclined')!;
    expect(line.who).toBe('policy');
    expect(line.summary).toBe(
      `user@org-a3 declined for "a3" the peer review of "${declined}" (we co-authored its proposal); by the policy's peer-review rule "${d.replacement!.reviewer}" reviews it in its place, in exchange for "${d.instead}"; "a3" reviews "${d.instead}" instead`,
    );
    const audit = rederive(events);
    expect(audit.decisions.map((x) => [x.kind, x.ok])).toEqual([
      ['peer_assignment', true],
      ['peer_decline', true],
      ['peer_decline', true],
      ['review_round', true],
    ]);
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'peer-review-declined-and-replaced'); // replayed by workflows/test/replay.wf-spec.ts
  });
});
