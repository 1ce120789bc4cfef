/**
 * Production sign-in in a real browser: NODE_ENV=production (no local sign-in), an OpenID Connect
 * provider on loopback (discovery, authorization with PKCE, token endpoint, JWKS, as a real one
 * answers), and the console signing in through it with the provider's id token, which the API
 * verifies with the provider's keys.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import jwt from 'jsonwebtoken';
import type { Browser } from 'playwright-core';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startApi } from '../../admin-api/test/api.support';
import { buildConsole, launchChromium, screenshot, seriousViolations } from './browser';

jest.setTimeout(180_000);
const CLIENT = 'concentra-console';
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const body = (req: IncomingMessage) => new Promise<string>((resolve) => {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => resolve(text));
});

describe('console sign-in through an OpenID Connect provider', () => {
  const consoleDir = buildConsole();
  const saved = { ...process.env };
  const codes = new Map<string, { challenge: string; redirectUri: string }>();
  let provider: Server;
  let issuer: string;
  let database: TestDatabase;
  let api: INestApplication;
  let browser: Browser;
  let base: string;
  let redeemed = 0;

  beforeAll(async () => {
    provider = createServer(async (req, res) => {
      const url = new URL(req.url ?? '/', issuer);
      res.setHeader('access-control-allow-origin', '*');
      if (url.pathname === '/.well-known/openid-configuration') {
        return res.end(JSON.stringify({ issuer, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/keys` }));
      }
      if (url.pathname === '/keys') return res.end(JSON.stringify({ keys: [{ ...keys.publicKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig' }] }));
      if (url.pathname === '/authorize') {
        // The person signs in at the provider (here at once), which sends the browser back with a code.
        const code = randomBytes(16).toString('hex');
        codes.set(code, { challenge: url.searchParams.get('code_challenge') ?? '', redirectUri: url.searchParams.get('redirect_uri') ?? '' });
        res.statusCode = 302;
        res.setHeader('location', `${url.searchParams.get('redirect_uri')}?code=${code}&state=${url.searchParams.get('state')}`);
        return res.end();
      }
      if (url.pathname === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(await body(req));
        const pending = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const verified = pending && createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url') === pending.challenge && form.get('redirect_uri') === pending.redirectUri;
        if (!verified || form.get('client_id') !== CLIENT) {
          res.statusCode = 400;
          return res.end(JSON.stringify({ error: 'invalid_grant' }));
        }
        redeemed += 1;
        const id_token = jwt.sign({ sub: 'kim@audit-office', roles: ['auditor'] }, keys.privateKey, { algorithm: 'RS256', keyid: 'k1', issuer, audience: CLIENT, expiresIn: 600 });
        return res.end(JSON.stringify({ id_token, token_type: 'Bearer' }));
      }
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    Object.assign(process.env, {
      NODE_ENV: 'production',
      AUTH_JWT_SECRET: 'a-production-key-of-at-least-thirty-two-characters',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: CLIENT,
      OIDC_ROLE_CLAIM: 'roles',
      CONSOLE_DIR: consoleDir,
    });
    database = await createTestDatabase();
    api = await startApi(database);
    await api.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(api.getHttpServer().address() as AddressInfo).port}`;
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await api?.close();
    await database?.drop();
    await new Promise((resolve) => provider?.close(resolve));
    for (const key of ['NODE_ENV', 'AUTH_JWT_SECRET', 'OIDC_ISSUER', 'OIDC_AUDIENCE', 'OIDC_ROLE_CLAIM', 'CONSOLE_DIR']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
    rmSync(consoleDir, { recursive: true, force: true });
  });

  it('offers no local sign-in in production, and signs in with the provider', async () => {
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/console/`);
    const button = page.getByRole('button', { name: 'Sign in with your identity provider' });
    await button.waitFor();
    expect(await page.getByLabel('Role').count()).toBe(0);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in-production');
    await button.click();
    await page.getByTestId('principal').waitFor();
    expect(await page.getByTestId('principal').innerText()).toContain('auditor · kim@audit-office');
    // The API took the provider's token: the programs page loaded without a refusal.
    await page.getByRole('heading', { name: 'Programs', level: 1 }).waitFor();
    await page.waitForLoadState('networkidle');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(page.url()).toBe(`${base}/console/`);
    expect(redeemed).toBe(1);
    await context.close();
  });
});
