import { applicant, company, expectStatus, panel, pm, reviewer, shortPolicy, cycleUnderTest, university } from './cycle-commands.support';

/**
 * Distributed peer review (issue 15, item 2) through the admin API on real parts: applicants are
 * assigned each other's applications as the call closes, see what they owe with its due date, and
 * review through POST /reviews with their own token; only their assigned applications, once each;
 * one declines an assigned review (POST applications/:app/assignment/decline) or declares a conflict
 * with it (applications/:app/conflicts), and the policy reassigns it.
 */
describe('peer review through the admin API', () => {
  const { slug, year, h, post, get, waitForStage } = cycleUnderTest('peer', 2027);

  it('assigns applicants each other, lists what they owe, and takes their reviews of assigned applications only', async () => {
    const base = shortPolicy({ review: 'PT30M' });
    const peerReview = { perApplicant: 2, weight: 0.5, onMissedReviews: { penalty: 10 } };
    const policy = { ...base, stages: base.stages.map((st: Record<string, unknown>) => (st.kind === 'review' ? { ...st, peerReview } : st)) };
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Peer review', policy }), 201);
    const bad = { ...base, stages: base.stages.map((st: Record<string, unknown>) => (st.kind === 'review' ? { ...st, peerReview: { ...peerReview, weight: 0 } } : st)) };
    const refused = expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug: `${slug}-bad`, name: 'Peer review', policy: bad }), 400);
    expect(JSON.stringify(refused.body)).toContain('stages.1.peerReview.weight');
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await waitForStage('call', 30_000);

    // alpha and beta share a university: they never review each other.
    const apps = [
      { applicationId: 'alpha', lead: 'org-a', members: [university('uni-x')] },
      { applicationId: 'beta', lead: 'org-b', members: [university('uni-x')] },
      { applicationId: 'gamma', lead: 'org-c', members: [] },
      { applicationId: 'delta', lead: 'org-d', members: [] },
    ];
    for (const [i, a] of apps.entries()) {
      const res = expectStatus(await post('/applications', applicant(a.lead), { applicationId: a.applicationId, title: a.applicationId, lead: company(a.lead), members: a.members }), 201);
      expect(res.body.events).toEqual(i < 3 ? ['ApplicationSubmitted'] : ['ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened', 'PeerReviewersAssigned']);
    }
    const timeline = expectStatus(await get('/timeline', pm), 200).body.events as Array<{ type: string; summary: string; data: Record<string, unknown> }>;
    const assigned = timeline.find((e) => e.type === 'PeerReviewersAssigned')!;
    expect(assigned.summary).toMatch(/^each of 4 applicant\(s\) in review:1 assigned 2 other application\(s\) to review by \S+, never its own or a conflicting one/);
    const reviews = new Map((assigned.data.assignments as Array<{ applicationId: string; reviews: string[] }>).map((a) => [a.applicationId, a.reviews]));
    expect([...reviews.get('alpha')!].sort()).toEqual(['delta', 'gamma']);
    // The API found the shared university in the applications projection: a conflict both ways, recorded with its reason.
    const conflicts = new Map((assigned.data.assignments as Array<{ applicationId: string; conflicts?: object }>).map((a) => [a.applicationId, a.conflicts]));
    expect([conflicts.get('alpha'), conflicts.get('beta')]).toEqual([{ consortium_member: ['beta'] }, { consortium_member: ['alpha'] }]);
    expect([...reviews.get('beta')!].sort()).toEqual(['delta', 'gamma']);

    const owed = expectStatus(await get('/owed', applicant('org-c')), 200).body.owed as Array<{ what: string; applicationId: string; dueAt: string; who: { organisationId: string } }>;
    expect(owed.map((o) => [o.what, o.applicationId, o.dueAt, o.who.organisationId]).sort()).toEqual(
      reviews
        .get('gamma')!
        .map((id) => ['peer_review', id, assigned.data.dueAt, 'org-c'])
        .sort(),
    );

    const score = { scores: { technical: 7, team: 7, impact: 7 }, conflictOfInterest: { declared: false } };
    const own = expectStatus(await post('/reviews', applicant('org-c'), { applicationId: 'gamma', ...score }), 403);
    expect(own.body).toMatchObject({ error: 'forbidden', fields: [{ field: 'applicationId' }] });
    const [first] = reviews.get('gamma')!;
    const ok = expectStatus(await post('/reviews', applicant('org-c'), { reviewId: 'peer-gamma-1', applicationId: first, ...score }), 201);
    expect(ok.body.events).toEqual(['ReviewSubmitted']);
    expectStatus(await post('/reviews', applicant('org-c'), { applicationId: first, ...score }), 409);
    expectStatus(await post('/reviews', applicant('org-c'), { applicationId: reviews.get('gamma')![1], scores: { technical: 11, team: 7, impact: 7 }, conflictOfInterest: { declared: false } }), 400);
    const left = expectStatus(await get('/owed', applicant('org-c')), 200).body.owed as Array<{ applicationId: string }>;
    expect(left.map((o) => o.applicationId)).toEqual([reviews.get('gamma')![1]]);
    // Panel reviewers review as before.
    expectStatus(await post('/reviews', reviewer(1), { applicationId: 'gamma', ...score }), 201);
    const submitted = (expectStatus(await get('/timeline', pm), 200).body.events as Array<{ type: string; summary: string }>).filter((e) => e.type === 'ReviewSubmitted');
    expect(submitted[0].summary).toMatch(new RegExp(`^review peer-gamma-1 of "${first}" submitted by user@org-c as the peer review of applicant "gamma", scoring `));

    // gamma declines its other review (a conflict it noticed): another applicant takes it where one may, gamma gets another in its place.
    const second = reviews.get('gamma')![1];
    const notGammas = ['alpha', 'beta', 'delta'].find((id) => !reviews.get('gamma')!.includes(id))!;
    const decline = (app: string, body: object) => post(`/applications/${app}/assignment/decline`, applicant('org-c'), body);
    expect(expectStatus(await decline(second, {}), 400).body).toMatchObject({ fields: [{ field: 'reason' }] });
    expect(expectStatus(await decline(notGammas, { reason: 'not mine' }), 403).body).toMatchObject({ error: 'forbidden', fields: [{ field: 'applicationId' }] });
    expect(expectStatus(await decline(first, { reason: 'already done' }), 409).body).toMatchObject({ error: 'duplicate', fields: [{ field: 'applicationId' }] });
    expect(expectStatus(await decline(second, { reason: 'a co-author of ours leads it' }), 200).body.events).toEqual(['PeerReviewAssignmentDeclined']);
    const line = (expectStatus(await get('/timeline', pm), 200).body.events as Array<{ type: string; summary: string; data: Record<string, unknown> }>).find((e) => e.type === 'PeerReviewAssignmentDeclined')!;
    const d = line.data as { replacement: { reviewer: string } | null; instead: string | null };
    expect(line.summary).toMatch(new RegExp(`^user@org-c declined for "gamma" the peer review of "${second}" \\(a co-author of ours leads it\\); `));
    // What gamma owes follows: the declined one is gone, what it got in its place is owed by the same deadline.
    const now = expectStatus(await get('/owed', applicant('org-c')), 200).body.owed as Array<{ applicationId: string; dueAt: string }>;
    expect(now.map((o) => o.applicationId)).toEqual(d.instead ? [d.instead] : []);
    expect(now.every((o) => o.dueAt === assigned.data.dueAt)).toBe(true);
    expectStatus(await post('/reviews', applicant('org-c'), { applicationId: second, ...score }), 403);
    if (d.replacement) {
      const lead = apps.find((a) => a.applicationId === d.replacement!.reviewer)!.lead;
      const theirs = expectStatus(await get('/owed', applicant(lead)), 200).body.owed as Array<{ applicationId: string }>;
      expect(theirs.map((o) => o.applicationId)).toContain(second);
    }
    // An applicant's declared conflict with an assigned application declines it the same way.
    const deltas = expectStatus(await get('/owed', applicant('org-d')), 200).body.owed as Array<{ applicationId: string }>;
    const conflict = expectStatus(await post(`/applications/${deltas[0].applicationId}/conflicts`, applicant('org-d'), { reason: 'former employer' }), 201);
    expect(conflict.body.events).toEqual(['ConflictOfInterestDeclared', 'PeerReviewAssignmentDeclined']);
    expectStatus(await post('/cancel', pm, { reason: 'test over' }), 200);
  }, 240_000);
});
