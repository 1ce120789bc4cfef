import type { Response } from 'supertest';
import { EventStore, PROJECTIONS, snapshotProjectionTables } from '@concentra/persistence';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { applicant, auditor, bearer, company, eventually, expectStatus, panel, pm, reviewer, shortPolicy, university, cycleUnderTest } from './cycle-commands.support';

/**
 * Every refused command — late, duplicate, wrong role, other organisation, conflict of interest,
 * invalid body, unknown cycle or application, wrong stage, ended cycle — answers a 4xx with the
 * reason and the offending fields, and leaves the cycle's events (and its workflow history) as
 * they were. The review round is long here: no timer moves the cycle while the test probes it.
 */
describe('cycle commands: refusals change nothing', () => {
  const { slug, year, id, h, post, liveStage, taskQueue } = cycleUnderTest('refusals', 2028);

  let accepted = 0;
  const ok = async (send: Promise<Response>, status: number, events: string[], stage: string) => {
    const res = expectStatus(await send, status);
    expect(res.body).toMatchObject({ events, stage });
    accepted += 1;
  };
  /** The command is refused with this status (and error code, and field); the cycle's events do not change. */
  const refused = async (send: Promise<Response>, status: number, error?: string, field?: string) => {
    const before = await h.eventCount(id);
    const res = expectStatus(await send, status);
    expect(res.body.message).toMatch(/\S/);
    if (error) expect(res.body.error).toBe(error);
    if (field) expect(res.body.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field, reason: expect.stringMatching(/\S/) })]));
    expect(await h.eventCount(id)).toBe(before);
    return res.body as { message: string; fields?: { field: string; reason: string }[] };
  };
  const review = (applicationId: string, extra: object = {}) => ({
    applicationId,
    scores: { technical: 7, team: 7, impact: 7 },
    conflictOfInterest: { declared: false },
    ...extra,
  });

  it('answers 4xx with the reason for every refused command and records nothing for it', async () => {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Refusals', policy: shortPolicy({ review: 'PT30M', afterApplications: 5 }) }), 201);
    // The start body is checked too: a panel member needs a subject.
    const badStart = expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel: { reviewers: [{ organisationId: 'x' }] } }), 400);
    expect(badStart.body.fields).toEqual([expect.objectContaining({ field: 'panel.reviewers.0.subject' })]);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await eventually('the call to open', async () => (await liveStage()) === 'call', 30_000);

    // Invalid bodies: every bad field is named; a body cannot carry an actor.
    const invalid = await refused(post('/applications', applicant('org-a'), { title: ' ', lead: { organisationId: 'org-a' }, actor: { role: 'program_manager' } }), 400, 'validation_failed');
    expect(invalid.fields!.map((f) => f.field)).toEqual(expect.arrayContaining(['title', 'lead.name', 'lead.type', '(body)']));
    await refused(post('/reviews', reviewer(1), { applicationId: 'Alpha!', scores: {}, conflictOfInterest: {} }), 400, 'validation_failed', 'conflictOfInterest.declared');
    await refused(post('/cancel', pm, {}), 400, 'validation_failed', 'reason');
    await refused(post('/narrowing/override', pm, { round: 1, rationale: 'both', keep: ['a'], keepCount: 1 }), 400, 'validation_failed', 'keep');
    await refused(post('/selection/override', pm, { awardees: ['alpha'] }), 400, 'validation_failed', 'rationale');
    await refused(post('/applications/Not_A_Slug/withdraw', applicant('org-a')), 400, 'validation_failed', 'applicationId');

    // Wrong role: refused by the route before the cycle is asked.
    const wrongRole = await refused(post('/applications', reviewer(1), { title: 'Sneaky', lead: company('org-a') }), 403);
    expect(wrongRole.message).toContain("role 'reviewer'");
    await refused(post('/selection/approve', applicant('org-a')), 403);
    await refused(post('/cancel', auditor, { reason: 'auditors cannot' }), 403);

    // Unknown cycle: 404 whether the id is well-formed or not.
    await refused(h.http().post(`/v1/cycles/cycle:${slug}:1999/cancel`).set('Authorization', pm).send({ reason: 'no such cycle' }), 404, 'not_found');
    await refused(h.http().post('/v1/cycles/not-a-cycle/cancel').set('Authorization', pm).send({ reason: 'no such cycle' }), 404, 'not_found');
    await h.http().get(`/v1/cycles/cycle:${slug}:1999/applications`).set('Authorization', pm).expect(404);
    // Next year's cycle exists before it opens (waiting on its opening timer): it takes no command yet.
    const nextYear = cycleWorkflowId(slug, year + 1);
    const program = expectStatus(await h.http().get(`/v1/programs/${slug}`).set('Authorization', pm), 200).body as { policy: Record<string, unknown>; policyHash: string };
    await h.client.workflow.start('programCycleOpeningLater', {
      workflowId: nextYear,
      taskQueue,
      args: [{ programSlug: slug, year: year + 1, policy: program.policy, policyHash: program.policyHash, startedBy: { role: 'program_manager', subject: 'pm-1' } }, new Date().toISOString(), 'P1Y'],
    });
    const notOpen = expectStatus(await h.http().post(`/v1/cycles/${nextYear}/applications`).set('Authorization', applicant('org-a')).send({ title: 'Early', lead: company('org-a') }), 409);
    expect(notOpen.body).toMatchObject({ error: 'invalid_state', message: expect.stringContaining('has not opened yet') });

    // Applications, and what the cycle refuses in the call.
    await ok(post('/applications', applicant('org-a'), { applicationId: 'alpha', title: 'Alpha', lead: company('org-a'), members: [university('uni-a')] }), 201, ['ApplicationSubmitted'], 'call');
    await ok(post('/applications', applicant('org-b'), { applicationId: 'beta', title: 'Beta', lead: company('org-b'), members: [company('org-x')] }), 201, ['ApplicationSubmitted'], 'call');
    await ok(post('/applications', applicant('org-c'), { applicationId: 'gamma', title: 'Gamma', lead: company('org-c') }), 201, ['ApplicationSubmitted'], 'call');
    const otherOrg = await refused(post('/applications', applicant('org-b'), { applicationId: 'for-a', title: 'For A', lead: company('org-a') }), 403, 'forbidden', 'actor.organisationId');
    expect(otherOrg.message).toContain('own organisation');
    await refused(post('/applications', applicant('org-a'), { applicationId: 'alpha', title: 'Alpha again', lead: company('org-a') }), 409, 'duplicate', 'applicationId');
    await refused(post('/applications', applicant('org-a'), { applicationId: 'alpha-2', title: 'Alpha two', lead: company('org-a') }), 409, 'duplicate', 'lead.organisationId');
    await refused(post('/applications', applicant('uni-u'), { applicationId: 'uni', title: 'University-led', lead: university('uni-u') }), 422, 'not_eligible', 'lead.type');
    await refused(post('/applications/alpha/withdraw', applicant('org-b'), { reason: 'not mine' }), 403, 'forbidden');
    await refused(post('/applications/nope/withdraw', applicant('org-a')), 404, 'not_found', 'applicationId');
    await refused(post('/applications/alpha/membership', pm, { members: [university('uni-a'), university('uni-a')], rationale: 'twice' }), 400, 'validation_failed', 'members');
    await refused(post('/reviews', reviewer(1), review('alpha')), 409, 'invalid_state');
    await refused(post('/selection/approve', pm, { rationale: 'too early' }), 409, 'invalid_state');
    await refused(post('/procurement/contracts', pm, {
      contractId: 'PC-1', applicationId: 'alpha', agency: 'Ministry', model: 'alpha-base', term: { start: '2029-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' },
      amount: { value: 1, currency: 'EUR' }, budgetLine: 'L',
    }), 409, 'invalid_state');

    // The fifth application closes the call; after that, applying is late.
    await ok(post('/applications', applicant('org-d'), { applicationId: 'delta', title: 'Delta', lead: company('org-d') }), 201, ['ApplicationSubmitted'], 'call');
    await ok(post('/applications', applicant('org-e'), { applicationId: 'epsilon', title: 'Epsilon', lead: company('org-e') }), 201, ['ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened'], 'review');
    const late = await refused(post('/applications', applicant('org-f'), { applicationId: 'late', title: 'Late', lead: company('org-f') }), 409, 'deadline_passed');
    expect(late.message).toContain('closed');

    // Conflicts of interest: detected (the scorer's organisation is in the consortium), declared, or declared on the sheet.
    const detected = await refused(post('/reviews', reviewer(3), review('beta')), 403, 'conflict_of_interest');
    expect(detected.message).toContain('consortium member');
    await ok(post('/applications/alpha/conflicts', reviewer(1), { reason: 'former employer' }), 201, ['ConflictOfInterestDeclared'], 'review');
    await refused(post('/applications/alpha/conflicts', reviewer(1), { reason: 'again' }), 409, 'duplicate');
    await refused(post('/reviews', reviewer(1), review('alpha')), 403, 'conflict_of_interest');
    await refused(post('/reviews', reviewer(2), review('alpha', { conflictOfInterest: { declared: true, note: 'I advised them' } })), 403, 'conflict_of_interest');
    // Not on the panel; scores the policy does not allow.
    await refused(post('/reviews', bearer({ sub: 'reviewer-9', role: 'reviewer' }), review('alpha')), 403, 'forbidden', 'actor.subject');
    await refused(post('/reviews', reviewer(2), review('alpha', { scores: { technical: 11, team: 7, impact: 7 } })), 400, 'validation_failed', 'scores.technical');
    await refused(post('/reviews', reviewer(2), review('alpha', { scores: { technical: 7, team: 7 } })), 400, 'validation_failed', 'scores.impact');
    await refused(post('/reviews', reviewer(2), review('withdrawn-or-unknown')), 404, 'not_found', 'applicationId');
    // Duplicates: the same reviewer twice on one application in one round (a review is that triple;
    // its reviewId is the reviewer's own label, recorded with it, and not kept in the cycle's state).
    await ok(post('/reviews', reviewer(2), review('alpha', { reviewId: 'r2-alpha' })), 201, ['ReviewSubmitted'], 'review');
    await refused(post('/reviews', reviewer(2), review('alpha')), 409, 'duplicate', 'applicationId');
    await refused(post('/reviews', reviewer(2), review('alpha', { reviewId: 'r2-alpha-again' })), 409, 'duplicate', 'applicationId');
    // Two identical commands at once: one is taken, the other refused (by the validator or, when both
    // passed it together, by the handler) with the same 409, and only one event is recorded.
    const before = await h.eventCount(id);
    const twice = await Promise.all([1, 2].map(() => post('/reviews', reviewer(2), review('gamma'))));
    expect(twice.map((r) => r.status).sort()).toEqual([201, 409]);
    expect(twice.find((r) => r.status === 409)!.body).toMatchObject({ error: 'duplicate', fields: [expect.objectContaining({ field: 'applicationId' })] });
    expect(await h.eventCount(id)).toBe(before + 1);
    accepted += 1;
    // Commands of later stages.
    await refused(post('/models', applicant('org-a'), { applicationId: 'alpha', round: 1, artifact: { uri: 's3://m', sha256: 'a'.repeat(64) } }), 409, 'invalid_state');
    await refused(post('/narrowing/approve', pm, { round: 1 }), 409, 'invalid_state');
    await refused(post('/objections', applicant('org-d'), { applicationId: 'delta', grounds: 'unfair' }), 409, 'invalid_state');

    // Cancel with a reason; afterwards the cycle takes no command.
    await ok(post('/cancel', pm, { reason: 'the budget was withdrawn' }), 200, ['CycleCancelled'], 'cancelled');
    expect(await h.client.workflow.getHandle(id).result()).toMatchObject({ stage: 'cancelled' });
    const ended = await refused(post('/applications/alpha/withdraw', applicant('org-a')), 409, 'invalid_state', 'id');
    expect(ended.message).toContain('has ended');
    await refused(post('/cancel', pm, { reason: 'again' }), 409, 'invalid_state');
    const finalState = expectStatus(await h.http().get(`/v1/cycles/${id}/state`).set('Authorization', auditor), 200).body;
    expect(finalState).toMatchObject({ source: 'events', state: { stage: 'cancelled', version: 12 } });

    // Nothing refused ever reached the workflow's history: only the accepted commands were Updates there.
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    const updates = (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates.length).toBeGreaterThanOrEqual(accepted);
    expect(updates.length).toBeLessThanOrEqual(accepted + 1); // the concurrent duplicate may have passed the validator
    const timeline = expectStatus(await h.http().get(`/v1/cycles/${id}/timeline`).set('Authorization', auditor), 200).body.events as { type: string }[];
    expect(timeline.map((e) => e.type)).toEqual([
      'CallOpened',
      ...Array<string>(5).fill('ApplicationSubmitted'), 'CallClosed', 'ReviewRoundOpened',
      'ConflictOfInterestDeclared', 'ReviewSubmitted', 'ReviewSubmitted',
      'CycleCancelled',
    ]);

    // The read tables are projections: rebuilt from the events alone, they hold the same rows.
    const tables = await snapshotProjectionTables(h.database.db);
    expect(tables.cycle_applications).toHaveLength(5);
    expect(tables.cycle_states).toHaveLength(1);
    await new EventStore(h.database.db, PROJECTIONS).rebuildProjections();
    expect(await snapshotProjectionTables(h.database.db)).toEqual(tables);
  }, 240_000);

  it('documents every command route with its body schema, and every read route, in OpenAPI', async () => {
    const docs = expectStatus(await h.http().get('/docs/json'), 200).body as { paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties?: object } }> } }>> };
    const commands = [
      'applications', 'applications/{applicationId}/withdraw', 'applications/{applicationId}/membership', 'applications/{applicationId}/conflicts', 'applications/{applicationId}/assignment/decline',
      'reviews', 'selection/approve', 'selection/override', 'models', 'evaluation-scores', 'narrowing/approve', 'narrowing/override',
      'objections', 'objections/{applicationId}/waive', 'objections/{applicationId}/decision', 'refill/selection',
      'procurement/contracts', 'procurement/releases', 'cancel',
    ];
    for (const path of commands) {
      const body = docs.paths[`/v1/cycles/{id}/${path}`]?.post?.requestBody?.content['application/json']?.schema;
      expect({ path, documented: !!body }).toEqual({ path, documented: true });
    }
    expect(docs.paths['/v1/cycles/{id}/reviews'].post.requestBody!.content['application/json'].schema.properties).toHaveProperty('conflictOfInterest');
    for (const read of ['timeline', 'state', 'applications', 'rankings', 'awardees', 'grants', 'owed']) expect(docs.paths).toHaveProperty([`/v1/cycles/{id}/${read}`, 'get']);
  });
});
