import type { JsonWebKey } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { issueToken, verifyToken } from '@concentra/auth';
import { VerifiedTokens } from './verified-tokens';

/** A remembered token answers only while verifying it again would give the same answer. */
describe('VerifiedTokens', () => {
  const secret = 'a-secret-of-thirty-two-characters!!';
  const noKey = () => Promise.resolve(undefined);

  it('answers a verified token until the second its expiry comes, as jsonwebtoken decides', async () => {
    const token = issueToken({ sub: 'pm-1', role: 'program_manager' }, secret, 'concentra', '60s');
    const { exp } = jwt.decode(token) as { exp: number };
    const tokens = new VerifiedTokens();
    tokens.remember(token, verifyToken(token, secret, 'concentra'), exp);
    expect(await tokens.principal(token, noKey, exp * 1000 - 1)).toEqual({ sub: 'pm-1', role: 'program_manager' });
    // jsonwebtoken refuses from the expiry's second on; so does the memory, and it forgets the token.
    expect(() => jwt.verify(token, secret, { clockTimestamp: exp })).toThrow(jwt.TokenExpiredError);
    expect(await tokens.principal(token, noKey, exp * 1000)).toBeUndefined();
    expect(await tokens.principal(token, noKey, exp * 1000 - 1)).toBeUndefined();
  });

  it('knows only tokens it was given, and hands out a principal no caller can change', async () => {
    const tokens = new VerifiedTokens();
    const token = issueToken({ sub: 'kim', role: 'applicant', org: 'org-a' }, secret, 'concentra');
    expect(await tokens.principal(token, noKey)).toBeUndefined();
    tokens.remember(token, { sub: 'kim', role: 'applicant', org: 'org-a' }, undefined);
    const principal = await tokens.principal(token, noKey);
    expect(Object.isFrozen(principal)).toBe(true);
    expect(await tokens.principal(`${token}x`, noKey)).toBeUndefined();
  });

  it("a provider's token: only while the key it was verified with is the key set's current one", async () => {
    const tokens = new VerifiedTokens();
    const key: JsonWebKey = { kty: 'RSA', n: 'abc', e: 'AQAB' };
    const exp = Math.floor(Date.now() / 1000) + 300;
    tokens.remember('provider-token', { sub: 'kim', role: 'auditor' }, exp, key, 'k1');
    const asked: Array<string | undefined> = [];
    const current = (value: JsonWebKey | undefined) => (kid: string | undefined) => {
      asked.push(kid);
      return Promise.resolve(value);
    };
    expect(await tokens.principal('provider-token', current(key))).toMatchObject({ sub: 'kim' });
    expect(asked).toEqual(['k1']);
    // The key set was fetched again: a new key object (even with the same content) means verifying again.
    expect(await tokens.principal('provider-token', current({ ...key }))).toBeUndefined();
    expect(await tokens.principal('provider-token', current(key))).toBeUndefined();
  });
});
