import { applicant, company, expectStatus, pm, reviewer, shortPolicy, cycleUnderTest, university } from './cycle-commands.support';

/**
 * Budgets and pools (issue 15, item 4) through the admin API on real parts: a policy with funding
 * pools is validated when the program is created (400 naming the field), an application's region is
 * validated (400 naming `region`), and the selection the review round proposes is the pools': a pool
 * that runs out says so, and the grants start with the awarded amounts.
 */
describe('budgets and pools through the admin API', () => {
  const { slug, year, h, post, get, waitForStage } = cycleUnderTest('pools', 2027);
  const withFunding = (funding: object) => {
    const base = shortPolicy({ review: 'PT40S' });
    return {
      ...base,
      stages: base.stages.map((st: Record<string, unknown>) => {
        if (st.kind === 'call') return { ...st, eligibility: { ...(st.eligibility as object), allowedLeadTypes: [] } };
        if (st.kind === 'selection') return { ...st, funding };
        if (st.kind === 'grant') return { ...st, applicantRequests: { cap: 16 } };
        return st;
      }),
    };
  };
  const pools = [
    { id: 'companies', budget: { gpus: 20 }, leadTypes: ['company'], gpuType: 'H100' },
    { id: 'universities', budget: { gpus: 8 }, leadTypes: ['university'], gpuType: 'B200' },
  ];

  it('validates the pools and the region, and the selection awards what the pools pay', async () => {
    const bad = expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Pools', policy: withFunding({ pools: [pools[0], pools[0]], award: 'full_or_nothing', minimumAward: 2 }) }), 400);
    expect(bad.body.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: expect.stringMatching(/stages\.2\.funding\.pools\.1\.id$/), reason: 'pool "companies" appears twice' }),
        expect.objectContaining({ field: expect.stringMatching(/stages\.2\.funding\.minimumAward$/), reason: 'applies only when award is "partial"' }),
      ]),
    );
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Pools', policy: withFunding({ pools, award: 'partial', caps: { perRegion: 30 } }) }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel: { reviewers: [1, 2, 3].map((n) => ({ subject: `reviewer-${n}`, organisationId: `rev-org-${n}` })), evaluators: [{ subject: 'evaluator-1', organisationId: 'eval-org-1' }] } }), 201);
    await waitForStage('call', 30_000);

    const region = expectStatus(await post('/applications', applicant('org-a'), { applicationId: 'alpha', title: 'Alpha', lead: company('org-a'), region: 'Seoul!' }), 400);
    expect(region.body.fields).toEqual([expect.objectContaining({ field: 'region' })]);
    const apps = [
      { applicationId: 'alpha', lead: company('org-a'), gpusRequested: 12, region: 'kr-seoul', score: 9 },
      { applicationId: 'beta', lead: company('org-b'), gpusRequested: 12, region: 'kr-busan', score: 8 },
      { applicationId: 'delta', lead: company('org-d'), gpusRequested: 4, score: 7 },
      { applicationId: 'gamma', lead: university('org-g'), gpusRequested: 8, score: 6 },
    ];
    for (const { score: _score, ...a } of apps) expectStatus(await post('/applications', applicant(a.lead.organisationId), { title: a.applicationId, ...a }), 201);
    await waitForStage('review', 30_000);
    for (const a of apps) {
      for (const n of [1, 2, 3]) {
        expectStatus(await post('/reviews', reviewer(n), { applicationId: a.applicationId, scores: { technical: a.score, team: a.score, impact: a.score }, conflictOfInterest: { declared: false } }), 201);
      }
    }
    await waitForStage('selection', 90_000);

    const timeline = async () => expectStatus(await get('/timeline', pm), 200).body.events as Array<{ type: string; summary: string; data: Record<string, unknown> }>;
    const events = await timeline();
    const allocated = events.find((e) => e.type === 'FundingPoolsAllocated')!;
    expect((allocated.data.awards as Array<{ applicationId: string; awarded: number }>).map((a) => [a.applicationId, a.awarded])).toEqual([['alpha', 12], ['beta', 8], ['gamma', 8]]);
    expect(events.find((e) => e.type === 'PoolExhausted')!.summary).toBe(
      'funding pool "companies" ran out (20 of 20 GPUs used) and stopped awarding; "beta" got the 8 GPUs left of the 12 it asked for; not funded because of it: delta',
    );
    expect(events.find((e) => e.type === 'SelectionProposed')!.data.proposed).toEqual(['alpha', 'beta', 'gamma']);

    const approved = expectStatus(await post('/selection/approve', pm, {}), 200);
    expect(approved.body.events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    const started = (await timeline()).find((e) => e.type === 'GrantPeriodStarted')!;
    // beta's 8 H100 are the grant stage's default amount, so only the others are listed by team.
    expect(started.data).toMatchObject({ gpusPerAwardee: [{ type: 'H100', count: 8 }], gpusByTeam: { alpha: [{ type: 'H100', count: 12 }], gamma: [{ type: 'B200', count: 8 }] } });
    expectStatus(await post('/cancel', pm, { reason: 'test over' }), 200);
  }, 300_000);
});
