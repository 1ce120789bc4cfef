/** The console's local sign-in: tokens for any role outside production; in production the route does not exist. */
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createAdminApi } from '../src/bootstrap';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startApi } from './api.support';

describe('POST /v1/dev/tokens', () => {
  let database: TestDatabase;
  let api: INestApplication;
  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApi(database);
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('issues a token the API accepts, for the role asked', async () => {
    const issued = await request(api.getHttpServer()).post('/v1/dev/tokens').send({ role: 'auditor', sub: 'alice' }).expect(201);
    expect(issued.body.principal).toEqual({ sub: 'alice', role: 'auditor' });
    await request(api.getHttpServer()).get('/v1/programs').set('Authorization', `Bearer ${issued.body.token}`).expect(200);
    // An auditor's token is still an auditor's: a program manager's route refuses it.
    await request(api.getHttpServer()).post('/v1/programs').set('Authorization', `Bearer ${issued.body.token}`).send({ slug: 'x', name: 'X' }).expect(403);
  });

  it('refuses an applicant without an organisation, naming the field', async () => {
    const refused = await request(api.getHttpServer()).post('/v1/dev/tokens').send({ role: 'applicant' }).expect(400);
    expect(refused.body.fields).toEqual([expect.objectContaining({ field: 'org' })]);
  });

  it('does not exist when NODE_ENV=production', async () => {
    const saved = { NODE_ENV: process.env.NODE_ENV, AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET };
    Object.assign(process.env, { NODE_ENV: 'production', AUTH_JWT_SECRET: 'a-production-key-of-at-least-thirty-two-characters' });
    const production = await createAdminApi(['error']);
    try {
      await production.init();
      await request(production.getHttpServer()).post('/v1/dev/tokens').send({ role: 'admin' }).expect(404);
      const document = (await request(production.getHttpServer()).get('/docs/json').expect(200)).body as { paths: Record<string, unknown> };
      expect(Object.keys(document.paths)).not.toContain('/v1/dev/tokens');
    } finally {
      await production.close();
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });
});
