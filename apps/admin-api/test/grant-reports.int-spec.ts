import { applicant, auditor, company, eventually, expectStatus, panel, pm, reviewer, shortPolicy, cycleUnderTest } from './cycle-commands.support';

/**
 * POST /v1/cycles/:id/grants/:applicationId/reports/:reportId (and `/review`): a funded team submits
 * the reports its policy asks for (issue 15, item 5), a program manager reviews them; bad bodies
 * name their fields, other roles and other teams are refused, and the cycle refuses an unknown,
 * duplicate or late report with its own 4xx. On real parts: HTTP, the worker, the Temporal dev
 * server, PostgreSQL; durations in seconds.
 */
describe('cycle commands: grant reports', () => {
  const { slug, year, id, h, post, get, waitForStage } = cycleUnderTest('reports', 2029);
  const state = async () => (await get('/state', pm).expect(200)).body.state;
  const report = (team: string, reportId: string) => `/grants/${team}/reports/${reportId}`;

  it('takes a report on time, refuses unknown, duplicate and late ones, and the program manager reviews it; all of it under owed', async () => {
    const policy = {
      ...shortPolicy(),
      grantReports: {
        reports: [
          { id: 'm1', kind: 'milestone', dueAfter: 'PT1H' },
          { id: 'early', kind: 'progress', dueAfter: 'PT3S' },
        ],
        onMissing: [{ after: 'PT0S', action: 'warning' }],
      },
    };
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Reports', policy }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await eventually('the call to open', async () => ((await h.http().get(`/v1/cycles/${id}`).set('Authorization', auditor)).body.live?.stage as string) === 'call', 30_000);
    const teams = { alpha: 'org-a', beta: 'org-b', gamma: 'org-c', delta: 'org-d' } as const;
    for (const [team, org] of Object.entries(teams)) expectStatus(await post('/applications', applicant(org), { applicationId: team, title: team, lead: company(org) }), 201);
    for (const n of [1, 2]) {
      for (const [i, team] of Object.keys(teams).entries()) {
        const v = 9 - i;
        expectStatus(await post('/reviews', reviewer(n), { applicationId: team, scores: { technical: v, team: v, impact: v }, conflictOfInterest: { declared: false } }), 201);
      }
    }
    await waitForStage('selection');
    expectStatus(await post('/selection/approve', pm, { rationale: 'as ranked' }), 200);
    await eventually('alpha and beta granted', async () => {
      const s = await state();
      return s.grants.alpha?.reports && s.grants.beta?.reports ? true : undefined;
    });

    // Bad bodies and paths name the field; only applicants may submit, only the team's own lead.
    const bad = expectStatus(await post(report('alpha', 'm1'), applicant('org-a'), { summary: ' ', documentUri: 'ftp://x', extra: 1 }), 400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['summary', 'documentUri']));
    expect(expectStatus(await post(report('alpha', 'M 1'), applicant('org-a'), { summary: 'done' }), 400).body.fields).toEqual([expect.objectContaining({ field: 'reportId' })]);
    expectStatus(await post(report('alpha', 'm1'), reviewer(1), { summary: 'done' }), 403);
    expectStatus(await post(report('alpha', 'm1'), applicant('org-b'), { summary: 'not ours' }), 403);
    expect(expectStatus(await post(report('alpha', 'm9'), applicant('org-a'), { summary: 'done' }), 404).body).toMatchObject({ error: 'not_found', fields: [expect.objectContaining({ field: 'reportId' })] });

    const before = await h.eventCount(id);
    const sent = expectStatus(await post(report('alpha', 'm1'), applicant('org-a'), { summary: 'data pipeline and first checkpoints', documentUri: 'https://reports.example/alpha/m1.pdf' }), 201);
    expect(sent.body).toMatchObject({ command: 'SubmitGrantReport', events: ['GrantReportSubmitted'] });
    expect(expectStatus(await post(report('alpha', 'm1'), applicant('org-a'), { summary: 'again' }), 409).body).toMatchObject({ error: 'duplicate', fields: [expect.objectContaining({ field: 'reportId' })] });
    expect(await h.eventCount(id)).toBe(before + 1);

    // Under owed: the managers owe alpha's review; beta sees its own report, with its due date.
    const owedPm = (await get('/owed', pm).expect(200)).body.owed as Array<{ what: string; applicationId: string; reportId?: string; dueAt: string | null }>;
    expect(owedPm).toContainEqual(expect.objectContaining({ what: 'grant_report_review', applicationId: 'alpha', reportId: 'm1', who: { role: 'program_manager' } }));
    const owedBeta = (await get('/owed', applicant('org-b')).expect(200)).body.owed as typeof owedPm;
    expect(owedBeta.filter((o) => o.reportId === 'm1')).toEqual([expect.objectContaining({ what: 'grant_report', applicationId: 'beta', dueAt: (await state()).grants.beta.reports.m1.dueAt })]);

    // Review: only a program manager; asking for changes needs a comment; accepted once.
    expectStatus(await post(`${report('alpha', 'm1')}/review`, applicant('org-a'), { outcome: 'accepted' }), 403);
    expect(expectStatus(await post(`${report('alpha', 'm1')}/review`, pm, { outcome: 'changes_requested' }), 400).body.fields).toEqual([expect.objectContaining({ field: 'comment' })]);
    expect(expectStatus(await post(`${report('alpha', 'm1')}/review`, pm, { outcome: 'accepted', comment: 'thorough' }), 200).body).toMatchObject({ events: ['GrantReportReviewed'] });
    expectStatus(await post(`${report('alpha', 'm1')}/review`, pm, { outcome: 'accepted' }), 409);

    // Late: beta's early report passed its due date (missed, warned by the policy): refused.
    await eventually("beta's early report missed", async () => ((await state()).grants.beta.reports.early.status === 'missed' ? true : undefined), 30_000);
    expect(expectStatus(await post(report('beta', 'early'), applicant('org-b'), { summary: 'too late' }), 409).body).toMatchObject({ error: 'deadline_passed' });
    const timeline = JSON.stringify(expectStatus(await get('/timeline', pm), 200).body);
    expect(timeline).toContain('\\"beta\\" warned by the policy\'s rule grantReports.onMissing[0]');
    expect(timeline).toContain('milestone report \\"m1\\" of \\"alpha\\" accepted by pm-1');
  });
});
