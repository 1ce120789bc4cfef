import type { JsonWebKey } from 'node:crypto';
import type { Principal } from '@concentra/auth';

interface Verified {
  principal: Readonly<Principal>;
  /** The token's `exp` (seconds since the epoch); Infinity when it has none (then it never expires). */
  exp: number;
  /** The provider's key it was verified with (OIDC), else undefined (the API's own secret). */
  key: JsonWebKey | undefined;
  kid: string | undefined;
}

/** Tokens remembered at most; the oldest is forgotten first. */
const KEPT = 20_000;

/**
 * Bearer tokens already verified, with the principal they carry, for their lifetime. Verifying a
 * token again gives the same answer as long as its expiry has not come, the secret is the same (it
 * is, for the process's life) and, for a provider's token, the key is still in the key set as
 * fetched when it was verified: so a hit is taken only then, exactly as strict as verifying, and a
 * refetched key set (new key objects) verifies every token again. Only successes are kept.
 */
export class VerifiedTokens {
  private readonly tokens = new Map<string, Verified>();

  /** The principal, when the token was verified and is still what it was then. */
  async principal(token: string, currentKey: (kid: string | undefined) => Promise<JsonWebKey | undefined>, nowMs = Date.now()): Promise<Readonly<Principal> | undefined> {
    const entry = this.tokens.get(token);
    if (!entry) return undefined;
    // jsonwebtoken's rule: expired when the current second is at or past `exp`.
    if (Math.floor(nowMs / 1000) >= entry.exp || (entry.key !== undefined && (await currentKey(entry.kid)) !== entry.key)) {
      this.tokens.delete(token);
      return undefined;
    }
    return entry.principal;
  }

  remember(token: string, principal: Principal, exp: number | undefined, key?: JsonWebKey, kid?: string): Readonly<Principal> {
    const frozen = Object.freeze({ ...principal });
    if (this.tokens.size >= KEPT) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, { principal: frozen, exp: typeof exp === 'number' ? exp : Infinity, key, kid });
    return frozen;
  }
}
