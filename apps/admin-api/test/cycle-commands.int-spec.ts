import { createHash } from 'node:crypto';
import { applicant, auditor, company, evaluator, eventually, expectStatus, panel, pm, reviewer, shortPolicy, university, cycleUnderTest } from './cycle-commands.support';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * One whole cycle through the admin API on real parts (HTTP, the worker module, the Temporal dev
 * server, PostgreSQL), every command a person gives a cycle sent as an HTTP request, waiting on the
 * cycle's own timers by polling its status with a bound. Durations are seconds: a wiring test.
 */
describe('cycle commands: a whole cycle through the admin API', () => {
  const { slug, year, id, h, post, get, waitForStage } = cycleUnderTest('cycle', 2027);

  const state = async () => (await get('/state', pm).expect(200)).body.state;
  /** Sends a command and checks the answer: its status, the events it caused, the stage after it. */
  const command = async (path: string, auth: string, body: object | undefined, status: number, events: string[], stage: string) => {
    const res = expectStatus(await post(path, auth, body), status);
    expect(res.body).toMatchObject({ events, stage, version: expect.any(Number) });
    return res.body as { id?: string; events: string[]; stage: string; version: number };
  };

  it('runs from call to closed with every command, and the timeline tells the story in order', async () => {
    const program = await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Short national AI programme', policy: shortPolicy() });
    expectStatus(program, 201);
    const started = await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel, lotterySeed: 'published-seed-2027' });
    expect(expectStatus(started, 201).body.id).toBe(id);
    await waitForStage('call', 30_000);
    expect((await state()).panel).toEqual(panel);
    expect((await state()).lotterySeed).toBe('published-seed-2027');

    // Call: applications, a withdrawal, a membership change; the fourth live application closes the call
    // (a withdrawn one does not count).
    await command('/applications', applicant('org-a'), { applicationId: 'alpha', title: 'Alpha', lead: company('org-a'), members: [university('uni-a')] }, 201, ['ApplicationSubmitted'], 'call');
    await command('/applications', applicant('org-b'), { applicationId: 'beta', title: 'Beta', lead: company('org-b'), members: [company('org-x')] }, 201, ['ApplicationSubmitted'], 'call');
    await command('/applications', applicant('org-w'), { applicationId: 'withdrawn-team', title: 'Withdrawn', lead: company('org-w') }, 201, ['ApplicationSubmitted'], 'call');
    await command('/applications/withdrawn-team/withdraw', applicant('org-w'), { reason: 'merged with another team' }, 200, ['ApplicationWithdrawn'], 'call');
    const gamma = await command('/applications', applicant('org-c'), { title: 'Gamma Models!', lead: company('org-c') }, 201, ['ApplicationSubmitted'], 'call');
    expect(gamma.id).toBe('gamma-models'); // derived from the title
    await command('/applications/gamma-models/membership', pm, { members: [university('uni-c')], rationale: 'a university partner joins' }, 200, ['MembershipChanged'], 'call');
    await command('/applications', applicant('org-d'), { applicationId: 'delta', title: 'Delta', lead: company('org-d') }, 201, ['ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened'], 'review');

    const own = await get('/applications', applicant('org-a')).expect(200);
    expect(own.body.applications.map((a: { applicationId: string }) => a.applicationId)).toEqual(['alpha']);
    const all = await get('/applications', reviewer(1)).expect(200);
    expect(all.body.applications).toHaveLength(5);
    const owedBefore = await get('/owed', reviewer(1)).expect(200);
    expect(owedBefore.body.owed).toEqual(
      ['alpha', 'beta', 'delta', 'gamma-models'].map((app) => expect.objectContaining({ what: 'review', applicationId: app, who: expect.objectContaining({ subject: 'reviewer-1' }), dueAt: expect.any(String) })),
    );

    // Review: a declared conflict, reviews from the panel (reviewer 3 works for a member of beta's consortium).
    await command('/applications/alpha/conflicts', reviewer(3), { reason: 'former employer' }, 201, ['ConflictOfInterestDeclared'], 'review');
    const proposal = { alpha: 9, beta: 8, 'gamma-models': 7, delta: 5 } as const;
    for (const [n, apps] of [[1, Object.keys(proposal)], [2, Object.keys(proposal)], [3, ['gamma-models', 'delta']]] as const) {
      for (const app of apps) {
        const v = proposal[app as keyof typeof proposal];
        await command('/reviews', reviewer(n), { applicationId: app, scores: { technical: v, team: v, impact: v }, conflictOfInterest: { declared: false } }, 201, ['ReviewSubmitted'], 'review');
      }
    }
    expect((await get('/owed', reviewer(3)).expect(200)).body.owed).toEqual([]); // nothing owed where a conflict stands

    // Selection, once the review round's timer closes it.
    await waitForStage('selection');
    const ranked = await get('/rankings', pm).expect(200);
    const review = ranked.body.rankings.find((r: { kind: string }) => r.kind === 'review');
    expect(review.result.ranking.map((r: { candidateId: string; total: number }) => [r.candidateId, r.total])).toEqual([
      ['alpha', 90],
      ['beta', 80],
      ['gamma-models', 70],
      ['delta', 50],
    ]);
    expect(ranked.body.rankings.find((r: { kind: string }) => r.kind === 'selection_proposal').kept).toEqual(['alpha', 'beta', 'gamma-models']);
    const published = await get('/rankings', applicant('org-d')).expect(200);
    expect(published.body.rankings[0]).toEqual({ kind: 'review', key: 'review:1', round: 1, at: expect.any(String), aggregates: { applicationCount: 4, topScore: 90 } });
    expect(JSON.stringify(published.body)).not.toContain('candidateId');
    expect((await get('/owed', pm).expect(200)).body.owed).toEqual([expect.objectContaining({ what: 'selection_approval', who: { role: 'program_manager' } })]);

    const before = await h.eventCount(id);
    const tooMany = await post('/selection/override', pm, { awardees: ['alpha', 'beta', 'gamma-models', 'delta'], rationale: 'fund everyone' }).expect(400);
    expect(tooMany.body).toMatchObject({ error: 'validation_failed', fields: [{ field: 'awardees', reason: expect.stringContaining('2 to 3') }] });
    expect(await h.eventCount(id)).toBe(before);
    await command('/selection/approve', pm, { rationale: 'as ranked' }, 200, ['AwardeesSelected', 'GrantPeriodStarted'], 'grant');

    const awardees = await get('/awardees', applicant('org-d')).expect(200);
    expect(awardees.body.decisions).toEqual([
      expect.objectContaining({ kind: 'selection', kept: ['alpha', 'beta', 'gamma-models'], dropped: ['delta'], approval: expect.objectContaining({ by: 'pm-1', rationale: 'as ranked' }) }),
    ]);
    const grants = await get('/grants', pm).expect(200);
    expect(grants.body.grants.map((g: { grantId: string }) => g.grantId)).toEqual(['alpha', 'beta', 'gamma-models'].map((t) => `grant:${slug}:${year}:${t}`));
    expect((await get('/grants', applicant('org-b')).expect(200)).body.grants.map((g: { applicationId: string }) => g.applicationId)).toEqual(['beta']);

    // Evaluation: models, then scores and verdicts from the evaluators.
    await waitForStage('evaluation', 30_000);
    const model = { alpha: [90, 9, 9], beta: [80, 8, 8], 'gamma-models': [70, 7, 7] } as const;
    const orgOf = { alpha: 'org-a', beta: 'org-b', 'gamma-models': 'org-c' } as const;
    for (const app of Object.keys(model) as (keyof typeof model)[]) {
      await command('/models', applicant(orgOf[app]), { applicationId: app, round: 1, artifact: { uri: `s3://models/${app}/v1`, sha256: sha(app) } }, 201, ['ModelSubmitted'], 'evaluation');
      for (const n of [1, 2]) {
        const [benchmarks, experts, users] = model[app];
        await command(
          '/evaluation-scores',
          evaluator(n),
          { applicationId: app, round: 1, scores: { benchmarks, experts, users }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
          201,
          ['EvaluationScoresSubmitted'],
          'evaluation',
        );
      }
    }

    // Narrowing: approved as planned (keep two); the dropped team objects and is upheld; taken again,
    // the program manager keeps one team only (fewer than planned) and both others waive.
    await waitForStage('narrowing', 40_000);
    await command('/narrowing/approve', pm, { round: 1 }, 200, ['TeamsNarrowed'], 'objection');
    await command('/objections', applicant('org-c'), { applicationId: 'gamma-models', grounds: 'the user trials were run on the wrong build' }, 201, ['ObjectionFiled', 'ObjectionWindowClosed'], 'objection');
    await command('/objections/gamma-models/decision', pm, { upheld: true, reasoning: 'the trial build was wrong; rank again' }, 200, ['ObjectionDecided', 'NarrowingProposed'], 'narrowing');
    await command('/narrowing/override', pm, { round: 1, keepCount: 1, rationale: 'only one model is ready for public use' }, 200, ['TeamsNarrowed'], 'objection');
    await command('/objections/beta/waive', applicant('org-b'), undefined, 200, ['ObjectionWaived'], 'objection');
    await command('/objections/gamma-models/waive', applicant('org-c'), {}, 200, ['ObjectionWaived', 'ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'RefillCallOpened'], 'refill');

    // Refill call: a newcomer applies, is reviewed, and the program manager takes it.
    await command('/applications', applicant('org-e'), { applicationId: 'epsilon', title: 'Epsilon', lead: company('org-e') }, 201, ['ApplicationSubmitted'], 'refill');
    await eventually('the refill review round', async () => (await state()).refill?.phase === 'review', 30_000);
    for (const n of [1, 2]) {
      await command('/reviews', reviewer(n), { applicationId: 'epsilon', scores: { technical: 8, team: 8, impact: 8 }, conflictOfInterest: { declared: false } }, 201, ['ReviewSubmitted'], 'refill');
    }
    await eventually('the refill proposal', async () => !!(await state()).refill?.proposal, 30_000);
    const refill = await post('/refill/selection', pm, { applicationIds: ['epsilon'] }).expect(200);
    expect(refill.body).toMatchObject({ stage: 'extension', events: ['RefillEntrantsSelected', 'GrantExtended', 'GrantExtended', 'ExtensionStarted'] });

    // Procurement: contracts and open-source releases; the last one closes the cycle.
    await waitForStage('procurement', 30_000);
    const finalists = { alpha: 'org-a', epsilon: 'org-e' } as const;
    for (const [app, org] of Object.entries(finalists)) {
      await command(
        '/procurement/contracts',
        pm,
        {
          contractId: `PC-${year}-${app}`,
          applicationId: app,
          agency: 'Ministry of Digital Affairs',
          model: `${app}-base`,
          term: { start: '2028-01-01T00:00:00Z', end: '2030-12-31T00:00:00Z' },
          amount: { value: 2_500_000, currency: 'EUR' },
          budgetLine: 'AI-2027-PROC',
        },
        201,
        ['ProcurementAwarded'],
        'procurement',
      );
      const last = app === 'epsilon';
      await command(
        '/procurement/releases',
        applicant(org),
        { applicationId: app, repository: `https://git.example.org/${app}/base`, licence: 'Apache-2.0', artifacts: [{ name: 'model.safetensors', sha256: sha(`${app}-weights`) }] },
        201,
        last ? ['ModelReleased', 'CycleClosed'] : ['ModelReleased'],
        last ? 'closed' : 'procurement',
      );
    }

    // The timeline, in order and readable (grant reports arrive whenever the grants do and are left out).
    const timeline = await get('/timeline', pm).expect(200);
    const entries = timeline.body.events as { position: number; type: string; summary: string; actor: string | null; stage: string | null }[];
    expect(entries.map((e) => e.position)).toEqual(entries.map((_, i) => i + 1));
    expect(entries.every((e) => e.summary.length > 0 && e.actor !== null)).toBe(true);
    const reviews = (n: number) => Array<string>(n).fill('ReviewSubmitted');
    expect(entries.map((e) => e.type).filter((t) => t !== 'GrantStarted' && t !== 'GrantEnded')).toEqual([
      'CallOpened',
      ...Array<string>(3).fill('ApplicationSubmitted'),
      'ApplicationWithdrawn',
      'ApplicationSubmitted',
      'MembershipChanged',
      'ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened',
      'ConflictOfInterestDeclared',
      ...reviews(10),
      'ReviewRoundClosed', 'SelectionProposed',
      'AwardeesSelected', 'GrantPeriodStarted',
      'GrantPeriodEnded', 'EvaluationRoundOpened',
      ...['alpha', 'beta', 'gamma-models'].flatMap(() => ['ModelSubmitted', 'EvaluationScoresSubmitted', 'EvaluationScoresSubmitted']),
      'EvaluationSubmissionsClosed',
      'NarrowingProposed',
      'TeamsNarrowed',
      'ObjectionFiled', 'ObjectionWindowClosed',
      'ObjectionDecided', 'NarrowingProposed',
      'TeamsNarrowed',
      'ObjectionWaived',
      'ObjectionWaived', 'ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'RefillCallOpened',
      'ApplicationSubmitted',
      'RefillCallClosed',
      ...reviews(2),
      'RefillRankingProposed',
      'RefillEntrantsSelected', 'GrantExtended', 'GrantExtended', 'ExtensionStarted',
      'ExtensionEnded', 'ProcurementOpened',
      'ProcurementAwarded', 'ModelReleased', 'ProcurementAwarded', 'ModelReleased', 'CycleClosed',
    ]);
    expect(entries.find((e) => e.type === 'TeamsNarrowed' && e.summary.includes('overridden'))?.summary).toContain('kept alpha; dropped beta, gamma-models');
    expect(entries.find((e) => e.type === 'ObjectionDecided')).toMatchObject({ actor: 'program_manager:pm-1', summary: expect.stringContaining('upheld') });
    expect(entries[entries.length - 1]).toMatchObject({ type: 'CycleClosed', stage: 'closed' });
    await get('/timeline', auditor).expect(200);
    await get('/timeline', applicant('org-a')).expect(403);

    // Every grant gave its GPUs back (cut by the narrowing, or at the close), so the workflow ends.
    expect(await h.client.workflow.getHandle(id).result()).toMatchObject({ stage: 'closed', nextCycleId: null });
    const finalGrants = (await get('/grants', pm).expect(200)).body.grants as { applicationId: string; status: string; allocationId: string | null; endReason: string }[];
    expect(finalGrants.map((g) => [g.applicationId, g.status, g.endReason])).toEqual([
      ['alpha', 'ended', 'completed'],
      ['beta', 'ended', 'eliminated'],
      ['epsilon', 'ended', 'completed'],
      ['gamma-models', 'ended', 'eliminated'],
    ]);
    expect(finalGrants.every((g) => g.allocationId)).toBe(true);
    const grantFacts = (await get('/timeline', auditor).expect(200)).body.events.map((e: { type: string }) => e.type);
    expect(grantFacts.filter((t: string) => t === 'GrantStarted')).toHaveLength(4);
    expect(grantFacts.filter((t: string) => t === 'GrantEnded')).toHaveLength(4);

    // What the reads say at the end.
    const statuses = (await get('/applications', pm).expect(200)).body.applications.map((a: { applicationId: string; status: string }) => [a.applicationId, a.status]);
    expect(Object.fromEntries(statuses)).toEqual({ alpha: 'active', beta: 'eliminated', 'gamma-models': 'eliminated', delta: 'not_selected', 'withdrawn-team': 'withdrawn', epsilon: 'active' });
    expect((await get('/owed', pm).expect(200)).body).toMatchObject({ stage: 'closed', owed: [] });
    const decisions = (await get('/awardees', auditor).expect(200)).body;
    expect(decisions.decisions.map((d: { kind: string; kept: string[]; overridden: boolean }) => [d.kind, d.kept, d.overridden])).toEqual([
      ['selection', ['alpha', 'beta', 'gamma-models'], false],
      ['narrowing', ['alpha', 'beta'], false],
      ['narrowing', ['alpha'], true],
      ['refill', ['epsilon'], false],
    ]);
    expect(decisions.active.map((a: { applicationId: string }) => a.applicationId).sort()).toEqual(['alpha', 'epsilon']);
  }, 300_000);
});
