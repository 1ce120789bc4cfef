import { applicant, auditor, company, eventually, expectStatus, panel, pm, shortPolicy, cycleUnderTest } from './cycle-commands.support';

/**
 * POST /v1/cycles/:id/grants/:applicationId/gpus: a program manager sets a team's GPU amount with a
 * rationale (recorded as GrantGpusChanged); bad bodies name every field, other roles are refused,
 * and the cycle refuses what its rules refuse.
 */
describe("cycle commands: a team's GPU amount", () => {
  const { slug, year, id, h, post } = cycleUnderTest('gpus', 2028);

  it('records the amount and the rationale, and refuses bad bodies, other roles and unknown teams', async () => {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'GPU amounts', policy: shortPolicy({ review: 'PT30M', afterApplications: 5 }) }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await eventually('the call to open', async () => ((await h.http().get(`/v1/cycles/${id}`).set('Authorization', auditor)).body.live?.stage as string) === 'call', 30_000);
    expectStatus(await post('/applications', applicant('org-a'), { applicationId: 'alpha', title: 'Alpha', lead: company('org-a') }), 201);

    const bad = expectStatus(await post('/grants/alpha/gpus', pm, { gpus: [{ type: 'H 100', count: 0 }], rationale: ' ' }), 400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['gpus.0.type', 'gpus.0.count', 'rationale']));
    expectStatus(await post('/grants/alpha/gpus', applicant('org-a'), { gpus: [{ type: 'H100', count: 8 }], rationale: 'more please' }), 403);
    expectStatus(await post('/grants/nobody/gpus', pm, { gpus: [{ type: 'H100', count: 8 }], rationale: 'who?' }), 404);
    // The policy takes no GPU requests: an application carrying one is refused, naming the field.
    const request = expectStatus(await post('/applications', applicant('org-b'), { applicationId: 'beta', title: 'Beta', lead: company('org-b'), gpusRequested: 64 }), 400);
    expect(request.body.fields).toEqual([expect.objectContaining({ field: 'gpusRequested' })]);

    const set = expectStatus(await post('/grants/alpha/gpus', pm, { gpus: [{ type: 'H100', count: 16 }], rationale: 'agreed with the team' }), 200);
    expect(set.body).toMatchObject({ command: 'SetGrantGpus', events: ['GrantGpusChanged'], stage: 'call' });
    expectStatus(await post('/grants/alpha/gpus', pm, { gpus: [{ type: 'H100', count: 16 }], rationale: 'again' }), 409);
    const timeline = expectStatus(await h.http().get(`/v1/cycles/${id}/timeline`).set('Authorization', pm), 200);
    expect(JSON.stringify(timeline.body)).toContain('GPUs of \\"alpha\\" set to 16 H100 (by pm-1)');
  });
});
