import type { INestApplication } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { createAdminApi } from '../src/bootstrap';
import { ROLES } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { bearer } from './cycle-commands.support';

type Paths = Record<string, Record<string, unknown>>;

/** The admin API with some variables set while it is built (the environment is read at boot). */
async function apiWith(env: Record<string, string>): Promise<INestApplication> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const api = await createAdminApi(['error']);
    await api.init();
    return api;
  } finally {
    for (const [k, v] of Object.entries(before)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}

/**
 * The edge on real parts (PostgreSQL, the Temporal dev server): security headers, 405 for methods a
 * known path does not have, terse 401s, rate limits per address and per principal, and NUL in any
 * path or query parameter of any route refused with a 400 naming it.
 */
describe('a hardened edge', () => {
  let database: TestDatabase;
  let api: INestApplication;
  let paths: Paths;
  const admin = bearer({ sub: 'admin-1', role: 'admin' });

  beforeAll(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, MIGRATIONS_RUN: 'false' });
    api = await apiWith({});
    paths = (await request(api.getHttpServer()).get('/docs/json').expect(200)).body.paths as Paths;
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('sends helmet security headers and no X-Powered-By', async () => {
    for (const res of [await request(api.getHttpServer()).get('/health'), await request(api.getHttpServer()).get('/v1/programs')]) {
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers).toMatchObject({ 'x-content-type-options': 'nosniff', 'x-frame-options': 'SAMEORIGIN', 'strict-transport-security': expect.any(String) });
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    }
  });

  it('answers 405 with Allow for a method a known path does not have (TRACE included); unknown paths stay 404', async () => {
    const http = () => request(api.getHttpServer());
    for (const [method, path] of [['trace', '/v1/programs'], ['delete', '/v1/programs'], ['put', '/v1/cycles/cycle:x:2027/timeline'], ['options', '/health'], ['patch', '/v1/gpu/policy']] as const) {
      const res = await http()[method](path).set('Authorization', admin);
      expect([method, path, res.status]).toEqual([method, path, 405]);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers.allow).toMatch(/GET/);
    }
    expect((await http().get('/v1/programs').set('Authorization', admin)).status).toBe(200);
    expect((await http().trace('/v1/no-such-thing').set('Authorization', admin)).status).toBe(404);
  });

  it('answers a body that is not JSON (400) or too large (413) as a problem too', async () => {
    const post = () => request(api.getHttpServer()).post('/v1/programs').set('Authorization', admin).set('Content-Type', 'application/json');
    const malformed = await post().send('{"slug": ');
    expect([malformed.status, malformed.headers['content-type']]).toEqual([400, expect.stringMatching(/^application\/problem\+json/)]);
    const large = await post().send(JSON.stringify({ slug: 'big', name: 'x'.repeat(2_000_000) }));
    expect([large.status, large.headers['content-type'], large.body.statusCode]).toEqual([413, expect.stringMatching(/^application\/problem\+json/), 413]);
  });

  it('says no more in a 401 than that the token is missing, expired or not valid', async () => {
    const hourFromNow = Math.floor(Date.now() / 1000) + 3600;
    const sign = (claims: object, options: jwt.SignOptions = {}, key = DEVELOPMENT_JWT_SECRET) => `Bearer ${jwt.sign({ exp: hourFromNow, ...claims }, key, { algorithm: 'HS256', issuer: 'concentra', ...options })}`;
    const tokens = [
      sign({ sub: 'x', role: 'program_manager' }, { issuer: 'someone-else' }),
      sign({ sub: 'x', role: 'king' }),
      sign({ sub: 'x', role: 'program_manager' }, {}, 'another-key-that-is-long-enough-to-sign-with'),
      sign({ sub: 'x', role: 'program_manager', exp: Math.floor(Date.now() / 1000) - 60 }),
      'Bearer not-a-jwt',
    ];
    for (const token of tokens) {
      const res = await request(api.getHttpServer()).get('/v1/programs').set('Authorization', token);
      expect(res.status).toBe(401);
      expect(res.body.message).toMatch(/^the token (is not valid|has expired)$/);
      const text = JSON.stringify(res.body);
      expect(text).not.toContain('concentra');
      for (const role of ROLES) expect(text).not.toContain(role);
    }
    expect((await request(api.getHttpServer()).get('/v1/programs')).body.message).toBe('a bearer token is required');
  });

  it('refuses NUL in every path and query parameter of every route with a 400 naming it', async () => {
    let checked = 0;
    for (const [template, item] of Object.entries(paths)) {
      for (const method of Object.keys(item) as Array<'get' | 'post' | 'put'>) {
        const names = [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
        const filled = (poisoned?: string) => template.replace(/\{(\w+)\}/g, (_, n: string) => (n === poisoned ? 'x%00y' : n === 'id' ? 'cycle:p:2027' : 'some-slug'));
        const cases: Array<[string, string]> = [[`${filled()}?q=a%00`, 'q'], ...names.map((n): [string, string] => [filled(n), n])];
        for (const [url, field] of cases) {
          const req = request(api.getHttpServer())[method](url).set('Authorization', admin);
          const res = method === 'get' ? await req : await req.send({});
          expect([method, url, res.status, res.body.fields]).toEqual([method, url, 400, [{ field, reason: expect.stringMatching(/NUL/) }]]);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThan(80);
    expect(Number((await database.db.query('SELECT count(*) AS n FROM events'))[0].n)).toBe(0); // not even an audit access record
  });

  it('refuses a scorer without an organisation (no token claim, no panel record) with 403 and the reason', async () => {
    const review = { applicationId: 'alpha', scores: { technical: 7 }, conflictOfInterest: { declared: false } };
    const scores = { applicationId: 'alpha', round: 1, scores: { quality: 7 }, conflictOfInterest: { declared: false } };
    const post = (path: string, token: string, body: object) => request(api.getHttpServer()).post(`/v1/cycles/cycle:no-panel:2027/${path}`).set('Authorization', token).send(body);
    for (const [path, role, body] of [['reviews', 'reviewer', review], ['evaluation-scores', 'evaluator', scores]] as const) {
      const refused = await post(path, bearer({ sub: `${role}-1`, role }), body);
      expect([path, refused.status, refused.body.error, refused.body.fields?.[0]?.field]).toEqual([path, 403, 'forbidden', 'actor.organisationId']);
      expect(refused.body.message).toMatch(/organisation/);
      // With an organisation in the token the command goes on to the cycle (which does not exist here).
      expect((await post(path, bearer({ sub: `${role}-1`, role, org: 'org-r' }), body)).status).toBe(404);
    }
  });

  it('limits requests per principal and per address (RATE_LIMIT_*), answering 429 with Retry-After', async () => {
    const throttled = await apiWith({ RATE_LIMIT_PER_PRINCIPAL: '3', RATE_LIMIT_PER_ADDRESS: '6', RATE_LIMIT_WINDOW_SECONDS: '600' });
    try {
      const get = (token?: string) => {
        const req = request(throttled.getHttpServer()).get('/v1/programs');
        return token ? req.set('Authorization', token) : req;
      };
      const pm = bearer({ sub: 'pm-1', role: 'program_manager' });
      const statuses = [];
      for (let i = 0; i < 4; i += 1) statuses.push((await get(pm)).status);
      expect(statuses).toEqual([200, 200, 200, 429]); // the principal's limit
      const refused = await get(pm);
      expect(refused.headers['retry-after']).toMatch(/^\d+$/);
      expect(refused.body).toMatchObject({ statusCode: 429 });
      // Another principal from the same address: the address has made 5 requests, its limit is 6.
      expect((await get(bearer({ sub: 'auditor-1', role: 'auditor' }))).status).toBe(200);
      expect((await get(bearer({ sub: 'auditor-2', role: 'auditor' }))).status).toBe(429);
      expect((await get()).status).toBe(429); // counted before the token is looked at
    } finally {
      await throttled.close();
    }
  });
});
