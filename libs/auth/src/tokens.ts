import { createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { z } from 'zod';
import { ROLES } from './roles';

export const PrincipalSchema = z.object({
  sub: z.string().min(1),
  role: z.enum(ROLES),
  /** Applicants act for one organisation; their commands are checked against it. */
  org: z.string().min(1).optional(),
});
export type Principal = z.infer<typeof PrincipalSchema>;

export function issueToken(principal: Principal, secret: string, issuer: string, expiresIn: jwt.SignOptions['expiresIn'] = '12h'): string {
  const claims = PrincipalSchema.parse(principal);
  if (claims.role === 'applicant' && !claims.org) throw new Error('an applicant token needs an organisation (org)');
  return jwt.sign(claims, secret, { algorithm: 'HS256', issuer, expiresIn });
}

export function verifyToken(token: string, secret: string, issuer: string): Principal {
  const payload = jwt.verify(token, secretKey(secret), { algorithms: ['HS256'], issuer });
  return PrincipalSchema.parse(payload);
}

/**
 * The secret as a key object, made once: handed a string, jsonwebtoken first tries it as a public
 * key (which throws) and then makes a secret key of it, on every verification.
 */
const secretKeys = new Map<string, KeyObject>();
function secretKey(secret: string): KeyObject {
  let key = secretKeys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret));
    if (secretKeys.size >= 8) secretKeys.clear();
    secretKeys.set(secret, key);
  }
  return key;
}
