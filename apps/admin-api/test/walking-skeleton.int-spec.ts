import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client, Connection } from '@temporalio/client';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { defaultPolicyDocument } from '@concentra/domain';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { WorkerModule } from '../../worker/src/worker.module';
import { createAdminApi } from '../src/bootstrap';
import { issueToken, type Principal } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

/**
 * The walking skeleton on real parts: PostgreSQL, the Temporal dev server, the real worker
 * module and the HTTP API. A short call (seconds) is fine here: this checks wiring, not policy.
 */
describe('walking skeleton: program → cycle → call closes (HTTP, dev server, worker, PostgreSQL)', () => {
  let database: TestDatabase;
  let worker: INestApplicationContext;
  let api: INestApplication;
  let temporal: Connection;
  const slug = `skeleton-${randomBytes(3).toString('hex')}`;
  const token = (role: Principal['role'], org?: string) =>
    `Bearer ${issueToken({ sub: `${role}-1`, role, org }, DEVELOPMENT_JWT_SECRET, 'concentra')}`;
  const pm = token('program_manager');
  const eventCount = async () => Number((await database.db.query('SELECT count(*) AS n FROM events'))[0].n);

  beforeAll(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `skeleton-${slug}`,
      MIGRATIONS_RUN: 'false',
    });
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn'] });
    await worker.init();
    api = await createAdminApi(['error', 'warn']);
    await api.init();
    temporal = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS });
  });

  afterAll(async () => {
    await api?.close();
    await worker?.close();
    await temporal?.close();
    await database?.drop();
  });

  const shortPolicy = {
    ...defaultPolicyDocument,
    program: undefined,
    stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, closing: { deadline: 'PT2S' } } : s)),
  };

  it('refuses bad requests with 401, 403 and 400 (field and reason), changing nothing', async () => {
    const http = request(api.getHttpServer());
    await http.post('/v1/programs').send({ slug, name: 'No token' }).expect(401);
    await http.post('/v1/programs').set('Authorization', 'Bearer not-a-jwt').send({ slug, name: 'Bad token' }).expect(401);
    const forbidden = await http.post('/v1/programs').set('Authorization', token('reviewer')).send({ slug, name: 'Reviewer' }).expect(403);
    expect(forbidden.body.message).toMatch(/reviewer/);
    const invalid = await http.post('/v1/programs').set('Authorization', pm).send({ slug: 'Bad Slug!', name: 'x' }).expect(400);
    expect(invalid.body.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'slug' }), expect.objectContaining({ field: 'name' })]),
    );
    const badPolicy = await http
      .post('/v1/programs')
      .set('Authorization', pm)
      .send({ slug, name: 'Bad policy', policy: { ...shortPolicy, objections: { windowDays: 0 } } })
      .expect(400);
    expect(badPolicy.body.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'objections.windowDays' })]));
    expect(await eventCount()).toBe(0);
  });

  it('creates a program, starts its cycle once, and the call closes on its durable timer', async () => {
    const http = request(api.getHttpServer());
    const created = await http.post('/v1/programs').set('Authorization', pm).send({ slug, name: 'National AI models', policy: shortPolicy }).expect(201);
    expect(created.body).toMatchObject({ slug, policyHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await http.post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Again' }).expect(409);

    const started = await http.post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2027 }).expect(201);
    const id = cycleWorkflowId(slug, 2027);
    expect(started.body.id).toBe(id);
    const before = await eventCount();
    const duplicate = await http.post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2027 }).expect(409);
    expect(duplicate.body.message).toContain(id);

    const client = new Client({ connection: temporal });
    await client.workflow.getHandle(id).result(); // the call closes after its 2-second deadline

    const cycle = await http.get(`/v1/cycles/${id}`).set('Authorization', token('auditor')).expect(200);
    expect(cycle.body.recorded).toMatchObject({ id, programSlug: slug, year: 2027, stage: 'closed' });
    expect(cycle.body.live).toMatchObject({ stage: 'closed' });
    expect(await eventCount()).toBeGreaterThanOrEqual(before);
    const types = (await database.db.query('SELECT type FROM events WHERE stream_id = $1 ORDER BY stream_position', [id])).map(
      (r: { type: string }) => r.type,
    );
    expect(types).toEqual(['CallOpened', 'CallClosed', 'CycleClosed']); // nobody applied in 2 seconds

    // The same cycle as its events say it was while the call was open.
    const [opened] = await database.db.query(`SELECT occurred_at FROM events WHERE stream_id = $1 AND type = 'CallOpened'`, [id]);
    const asOf = encodeURIComponent((opened.occurred_at as Date).toISOString());
    const then = await http.get(`/v1/cycles/${id}?asOf=${asOf}`).set('Authorization', token('auditor')).expect(200);
    expect(then.body).toMatchObject({ cycleId: id, exists: true, stage: 'call', position: 1 });
    await http.get(`/v1/cycles/${id}?asOf=${asOf}`).set('Authorization', token('applicant', 'org-a')).expect(403);
    const bad = await http.get(`/v1/cycles/${id}?asOf=yesterday`).set('Authorization', pm).expect(400);
    expect(bad.body.fields).toEqual([expect.objectContaining({ field: 'asOf', reason: expect.stringContaining('ISO 8601') })]);
  });

  it('serves the OpenAPI document and an open health check', async () => {
    const http = request(api.getHttpServer());
    const docs = await http.get('/docs/json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/v1/programs', '/v1/programs/{slug}/cycles', '/v1/cycles/{id}']));
    await http.get('/health').expect(200);
  });
});
