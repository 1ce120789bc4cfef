import { applicant, company, expectStatus, pm, reviewer, shortPolicy, cycleUnderTest, university } from './cycle-commands.support';

/**
 * Reviewer assignment (issue 15) through the admin API on real parts: panel members with expertise,
 * applications with topics, two reviewers assigned to each as the call closes, a decline replaced,
 * and reviews only from the assigned.
 */
describe('reviewer assignment through the admin API', () => {
  const { slug, year, h, post, get, waitForStage } = cycleUnderTest('assign', 2027);
  const panel = {
    reviewers: [1, 2, 3, 4].map((n) => ({ subject: `reviewer-${n}`, organisationId: `rev-org-${n}`, expertise: [n % 2 ? 'language' : 'vision'] })),
    evaluators: [{ subject: 'evaluator-1', organisationId: 'eval-org-1' }],
  };

  it('assigns, replaces a reviewer who declines, and refuses a review from someone not assigned', async () => {
    // Four reviewers with room for three each: eight assignments leave room to replace one who declines.
    const base = shortPolicy({ review: 'PT30M' });
    const policy = { ...base, stages: base.stages.map((st: Record<string, unknown>) => (st.kind === 'review' ? { ...st, assignment: { reviewersPerApplication: 2, maxPerReviewer: 3 } } : st)) };
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Assigned review', policy }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await waitForStage('call', 30_000);

    const apps = [
      { applicationId: 'alpha', lead: 'org-a', members: [university('rev-org-1')], topics: ['language'] },
      { applicationId: 'beta', lead: 'org-b', members: [], topics: ['vision'] },
      { applicationId: 'gamma', lead: 'org-c', members: [], topics: ['language'] },
      { applicationId: 'delta', lead: 'org-d', members: [], topics: ['vision'] },
    ];
    for (const [i, a] of apps.entries()) {
      const res = expectStatus(await post('/applications', applicant(a.lead), { applicationId: a.applicationId, title: a.applicationId, lead: company(a.lead), members: a.members, topics: a.topics }), 201);
      expect(res.body.events).toEqual(i < 3 ? ['ApplicationSubmitted'] : ['ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened', 'ReviewersAssigned']);
    }
    const timeline = async () => expectStatus(await get('/timeline', pm), 200).body.events as Array<{ type: string; summary: string; data: Record<string, unknown> }>;
    const assigned = (await timeline()).find((e) => e.type === 'ReviewersAssigned')!;
    expect(assigned.summary).toMatch(/^2 reviewer\(s\) assigned to each of 4 application\(s\) in review:1, none conflicted, the busiest reviewing [23] \(limit 3\)$/);
    const byApp = new Map((assigned.data.assignments as Array<{ applicationId: string; reviewers: string[]; conflicts?: object }>).map((a) => [a.applicationId, a]));
    expect(byApp.get('alpha')!.reviewers).not.toContain('reviewer-1');
    expect(byApp.get('alpha')!.conflicts).toEqual({ consortium_member: ['reviewer-1'] });

    const n = (subject: string) => Number(subject.replace('reviewer-', ''));
    const outsider = panel.reviewers.map((r) => r.subject).find((r) => !byApp.get('beta')!.reviewers.includes(r))!;
    const refused = expectStatus(await post('/reviews', reviewer(n(outsider)), { applicationId: 'beta', scores: { technical: 5, team: 5, impact: 5 }, conflictOfInterest: { declared: false } }), 403);
    expect(refused.body).toMatchObject({ error: 'forbidden', fields: [{ field: 'applicationId', reason: expect.stringContaining('not assigned') }] });

    expectStatus(await post('/applications/beta/assignment/decline', reviewer(n(outsider)), { reason: 'never assigned' }), 409);
    expectStatus(await post('/applications/beta/assignment/decline', reviewer(n(byApp.get('beta')!.reviewers[0])), {}), 400);
    const declined = expectStatus(await post('/applications/beta/assignment/decline', reviewer(n(byApp.get('beta')!.reviewers[0])), { reason: 'on leave' }), 200);
    expect(declined.body.events).toEqual(['ReviewAssignmentDeclined']);
    const replaced = (await timeline()).find((e) => e.type === 'ReviewAssignmentDeclined')!;
    expect(replaced.summary).toMatch(new RegExp(`^${byApp.get('beta')!.reviewers[0]} declined to review "beta" \\(on leave\\); reviewer-\\d assigned in their place`));
    const replacement = (replaced.data.replacement as { reviewer: string }).reviewer;
    const ok = expectStatus(await post('/reviews', reviewer(n(replacement)), { applicationId: 'beta', scores: { technical: 6, team: 6, impact: 6 }, conflictOfInterest: { declared: false } }), 201);
    expect(ok.body.events).toEqual(['ReviewSubmitted']);
    expectStatus(await post('/cancel', pm, { reason: 'test over' }), 200);
  }, 240_000);
});
