/**
 * Production sign-in: the API accepts bearer tokens of an OpenID Connect provider, verified with the
 * provider's JWKS. The provider here is a real HTTP server on loopback serving a discovery document
 * and a key set; tokens are signed with its RSA key as a provider would.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import request from 'supertest';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { bearer, startApi } from './api.support';

const AUDIENCE = 'concentra-console';
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const provider = rsa();
const impostor = rsa();

/**
 * The API against a provider on loopback answering with `handler`, for one describe block: the
 * OIDC_* environment set before the API starts and put back afterwards.
 */
function apiWithProvider(handler: RequestListener) {
  const ctx = { issuer: '', api: undefined as unknown as INestApplication };
  let database: TestDatabase;
  let server: Server;
  const saved = { ...process.env };
  const keys = ['OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_ROLE_CLAIM', 'OIDC_ORG_CLAIM'];
  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ctx.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    Object.assign(process.env, { OIDC_ISSUER: ctx.issuer, OIDC_AUDIENCE: AUDIENCE, OIDC_ROLE_CLAIM: 'roles', OIDC_ORG_CLAIM: 'organisation' });
    database = await createTestDatabase();
    ctx.api = await startApi(database);
  });
  afterAll(async () => {
    await ctx.api?.close();
    await database?.drop();
    await new Promise((resolve) => server?.close(resolve));
    for (const key of keys) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });
  return ctx;
}

describe('OpenID Connect bearer tokens', () => {
  let fetches = 0;
  const provided = apiWithProvider((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') return res.end(JSON.stringify({ issuer: provided.issuer, jwks_uri: `${provided.issuer}/keys` }));
    if (req.url === '/keys') {
      fetches += 1;
      return res.end(JSON.stringify({ keys: [{ ...provider.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] }));
    }
    res.statusCode = 404;
    res.end('{}');
  });

  const token = (claims: object, options: { key?: KeyObject; kid?: string; audience?: string; expiresIn?: number } = {}) =>
    jwt.sign({ sub: 'kim@agency', ...claims }, options.key ?? provider.privateKey, {
      algorithm: 'RS256',
      keyid: options.kid ?? 'k1',
      issuer: provided.issuer,
      audience: options.audience ?? AUDIENCE,
      expiresIn: options.expiresIn ?? 300,
    });
  const programs = (auth: string) => request(provided.api.getHttpServer()).get('/v1/programs').set('Authorization', auth);

  it("takes the role from the provider's claim, found through discovery", async () => {
    await programs(`Bearer ${token({ roles: ['staff', 'auditor'] })}`).expect(200);
    // An auditor's token from the provider is an auditor's: a program manager's route refuses it.
    const refused = await request(provided.api.getHttpServer()).post('/v1/programs').set('Authorization', `Bearer ${token({ roles: ['auditor'] })}`).send({ slug: 'x', name: 'X' }).expect(403);
    expect(refused.body.message).toContain("role 'auditor'");
    expect(fetches).toBe(1);
  });

  it('takes an applicant\'s organisation from the configured claim', async () => {
    const applicant = `Bearer ${token({ roles: 'applicant', organisation: 'org-a' })}`;
    await programs(applicant).expect(200);
  });

  it('refuses a token for another audience, signed by another key, expired, or without a known role', async () => {
    await programs(`Bearer ${token({ roles: ['auditor'] }, { audience: 'someone-else' })}`).expect(401);
    await programs(`Bearer ${token({ roles: ['auditor'] }, { key: impostor.privateKey })}`).expect(401);
    const expired = await programs(`Bearer ${token({ roles: ['auditor'] }, { expiresIn: -10 })}`).expect(401);
    expect(expired.body.message).toBe('the token has expired');
    await programs(`Bearer ${token({ roles: ['visitor'] })}`).expect(401);
    await programs(`Bearer ${token({ roles: ['auditor'] }, { kid: 'unknown' })}`).expect(401);
  });

  it("still takes the API's own tokens (the CLI's, the local sign-in's)", async () => {
    await programs(bearer({ sub: 'auditor-1', role: 'auditor' })).expect(200);
  });
});

describe('OpenID Connect bearer tokens while the provider is down', () => {
  let asked = 0;
  // The provider answers, but with errors: an outage behind a load balancer.
  const provided = apiWithProvider((_req, res) => {
    asked += 1;
    res.statusCode = 502;
    res.end('bad gateway');
  });

  it("answers 503 naming the identity provider, not 401, and does not hammer it", async () => {
    const token = jwt.sign({ sub: 'kim@agency', roles: ['auditor'] }, provider.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer: provided.issuer, audience: AUDIENCE, expiresIn: 300 });
    for (let i = 0; i < 3; i += 1) {
      const answer = await request(provided.api.getHttpServer()).get('/v1/programs').set('Authorization', `Bearer ${token}`).expect(503);
      expect(answer.body).toMatchObject({ error: 'service_unavailable', dependency: 'identity_provider' });
      expect(answer.body.message).toContain('502');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    // One discovery request for the three tokens: failures are retried at most every 30 s.
    expect(asked).toBe(1);
    // The API's own tokens do not depend on the provider.
    await request(provided.api.getHttpServer()).get('/v1/programs').set('Authorization', bearer({ sub: 'auditor-1', role: 'auditor' })).expect(200);
  });
});
