import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { ROLES, type Role } from './roles';
import { PrincipalSchema, type Principal } from './tokens';

/** Asymmetric algorithms only: a provider's token is never checked with a shared secret. */
export const OIDC_ALGORITHMS: jwt.Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];

export interface OidcClaimMapping {
  /** The claim holding the role: a string, or a list whose first known role is taken (`roles`, `groups`, ...). */
  roleClaim: string;
  /** The claim holding the organisation an applicant acts for (or a scorer works for). */
  orgClaim: string;
}

/** Reads a provider's verified claims as one of our principals; a token without a known role is not valid here. */
export function principalFromClaims(claims: Record<string, unknown>, mapping: OidcClaimMapping): Principal {
  const raw = claims[mapping.roleClaim];
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
  const role = values.find((v): v is Role => (ROLES as readonly string[]).includes(v));
  const org = claims[mapping.orgClaim];
  return PrincipalSchema.parse({ sub: claims.sub, role, ...(typeof org === 'string' && org ? { org } : {}) });
}

/** The key id and algorithm a token names in its header (unverified: they only choose the key). */
export function tokenHeader(token: string): { alg?: string; kid?: string } {
  const decoded = jwt.decode(token, { complete: true });
  return (decoded?.header as { alg?: string; kid?: string } | undefined) ?? {};
}

/** The header and the expiry a token states (unverified: read after verifying, or to choose the key). */
export function tokenClaimsUnverified(token: string): { header: { alg?: string; kid?: string }; exp: number | undefined } {
  const decoded = jwt.decode(token, { complete: true });
  const payload = decoded?.payload;
  const exp = payload && typeof payload === 'object' && typeof payload.exp === 'number' ? payload.exp : undefined;
  return { header: (decoded?.header as { alg?: string; kid?: string } | undefined) ?? {}, exp };
}

/** Verifies a provider's token with one key of its JWKS: signature, issuer, audience, expiry. */
export function verifyOidcToken(token: string, jwk: JsonWebKey, options: { issuer: string; audience: string } & OidcClaimMapping): Principal {
  const key = publicKey(jwk);
  const claims = jwt.verify(token, key, { algorithms: OIDC_ALGORITHMS, issuer: options.issuer, audience: options.audience });
  if (typeof claims === 'string') throw new jwt.JsonWebTokenError('the token carries no claims');
  return principalFromClaims(claims as Record<string, unknown>, options);
}

/** Each key of a fetched key set made into a key object once (a refetched set brings new objects). */
const publicKeys = new WeakMap<JsonWebKey, KeyObject>();
function publicKey(jwk: JsonWebKey): KeyObject {
  let key = publicKeys.get(jwk);
  if (!key) {
    key = createPublicKey({ key: jwk, format: 'jwk' });
    publicKeys.set(jwk, key);
  }
  return key;
}
