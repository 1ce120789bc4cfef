import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { decide, defaultPolicy, initialState } from '@concentra/domain';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { EvaluationRun, loadSuite } from '@concentra/evaluation';
import type { Principal } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startLoopbackModel, type LoopbackModel } from '../../../libs/evaluation/test/support/loopback-model';
import { openCallCommand, T0 } from '../../../libs/domain/src/cycle/testing';
import { bearer, startApi } from './api.support';

/**
 * Program managers follow the evaluation service's runs over HTTP: per team, items done of total,
 * errors and score so far, read from what the runs stored (real runs against loopback models).
 */
describe('evaluation progress API (/v1/cycles/:id/evaluation/progress)', () => {
  let database: TestDatabase;
  let api: INestApplication;
  const servers: LoopbackModel[] = [];
  const token = (role: Principal['role'], org?: string) => bearer({ sub: `${role}-1`, role, org });
  const cycleId = 'cycle:progress:2027';
  const { suite, version } = loadSuite('basic-reasoning');

  beforeAll(async () => {
    database = await createTestDatabase();
    const opened = decide(openCallCommand({ ...defaultPolicy, program: 'progress' }), initialState, T0);
    await new EventStore(database.db, PROJECTIONS).append(
      cycleId,
      opened.map((e, i) => ({ eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, metadata: { actor: { role: 'program_manager', subject: 'pm-1' } }, occurredAt: T0 })),
    );
    api = await startApi(database);
  });
  afterAll(async () => {
    await api?.close();
    await Promise.all(servers.map((s) => s.close()));
    await database?.drop();
  });

  it('answers each team’s progress to program managers, and refuses others', async () => {
    const whole = await startLoopbackModel({ name: 'a1', suite, behaviour: { kind: 'malformed' } });
    const cut = new AbortController();
    const partial = await startLoopbackModel({
      name: 'a2', suite, behaviour: { kind: 'accuracy', p: 1 },
      onArrival: (_id, _n, total) => {
        if (total === 11) cut.abort(new Error('cancelled'));
      },
    });
    servers.push(whole, partial);
    const run = (team: string, server: LoopbackModel, signal = new AbortController().signal) =>
      new EvaluationRun(database.db, { retryBackoffMs: 5 }).run(
        { runId: `${cycleId}:evaluation:1:${team}`, cycleId, round: 1, applicationId: team, suite: 'basic-reasoning', suiteVersion: version, endpoint: { baseUrl: server.baseUrl, model: 'm' }, concurrency: 1, maxAttempts: 2 },
        { heartbeat: () => undefined, signal },
      );
    await run('a1', whole);
    await expect(run('a2', partial, cut.signal)).rejects.toThrow('cancelled');
    // A weak model (5 %): its interval reaches down to a1's zero, so the two cannot be told apart.
    const weak = await startLoopbackModel({ name: 'a3', suite, behaviour: { kind: 'accuracy', p: 0.05 } });
    servers.push(weak);
    const a3 = await run('a3', weak);
    expect(a3.interval.low).toBe(0);

    const http = request(api.getHttpServer());
    const res = await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/evaluation/progress`).set('Authorization', token('program_manager')).expect(200);
    expect(res.body).toEqual({
      cycleId,
      teams: [
        {
          applicationId: 'a1', round: 1, runId: `${cycleId}:evaluation:1:a1`, suite: 'basic-reasoning', suiteVersion: version, total: 40, done: 40, errors: 40, scoreSoFar: 0, finished: true,
          interval: { low: 0, high: 0 }, notSeparableFrom: ['a3'],
        },
        { applicationId: 'a2', round: 1, runId: `${cycleId}:evaluation:1:a2`, suite: 'basic-reasoning', suiteVersion: version, total: 40, done: 10, errors: 0, scoreSoFar: 1, finished: false, interval: null, notSeparableFrom: null },
        {
          applicationId: 'a3', round: 1, runId: `${cycleId}:evaluation:1:a3`, suite: 'basic-reasoning', suiteVersion: version, total: 40, done: 40, errors: 0, scoreSoFar: a3.accuracy, finished: true,
          interval: a3.interval, notSeparableFrom: ['a1'],
        },
      ],
    });
    await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/evaluation/progress`).set('Authorization', token('applicant', 'org-a1')).expect(403);
    await http.get(`/v1/cycles/${encodeURIComponent(cycleId)}/evaluation/progress`).expect(401);
    const missing = await http.get('/v1/cycles/cycle:nobody:2027/evaluation/progress').set('Authorization', token('program_manager')).expect(404);
    expect(missing.body.message).toContain("no cycle 'cycle:nobody:2027'");
  });

  it('refuses a model submission whose credential reference looks like a secret, naming the field, before it reaches the cycle', async () => {
    const res = await request(api.getHttpServer())
      .post(`/v1/cycles/${encodeURIComponent(cycleId)}/models`)
      .set('Authorization', token('applicant', 'org-a1'))
      .send({ applicationId: 'a1', round: 1, endpoint: { baseUrl: 'https://models.a1.example/v1', model: 'a1-7b', credentialRef: 'sk-proj-9f8A7b6C5d4E3f2G1h0iJkLmNoPq' } })
      .expect(400);
    expect(res.body.fields).toEqual([expect.objectContaining({ field: 'endpoint.credentialRef' })]);
    const none = await request(api.getHttpServer()).post(`/v1/cycles/${encodeURIComponent(cycleId)}/models`).set('Authorization', token('applicant', 'org-a1')).send({ applicationId: 'a1', round: 1 }).expect(400);
    expect(none.body.fields).toEqual([expect.objectContaining({ field: 'artifact', reason: 'an artifact or an endpoint is required' })]);
  });
});
