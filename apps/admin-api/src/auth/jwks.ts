import type { JsonWebKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { AppEnvironment } from '@concentra/config';

/** The provider's keys could not be fetched and none known matches: a 503, not the token's fault. */
export class IdentityProviderUnreachable extends Error {
  override readonly name = 'IdentityProviderUnreachable';
}

/** How long a fetched key set is trusted; an unknown key id refetches sooner, at most once per REFETCH_MS. */
const CACHE_MS = 10 * 60_000;
const REFETCH_MS = 30_000;

/**
 * The OpenID Connect provider's signing keys (JWKS), fetched from OIDC_JWKS_URL or the issuer's
 * discovery document and cached, so that a rotated key is picked up without a restart and a flood
 * of tokens naming unknown keys cannot make the API hammer the provider.
 */
@Injectable()
export class JwksKeys {
  private keys = new Map<string, JsonWebKey>();
  private fetchedAt = 0;
  private pending: Promise<void> | null = null;
  /** Why the last fetch failed, until one succeeds. */
  private failure: Error | null = null;

  constructor(@Inject(AppEnvironment) private readonly env: AppEnvironment) {}

  get configured(): boolean {
    return !!this.env.OIDC_ISSUER;
  }

  /**
   * The key a token names (by `kid`; the only key when the token names none), or undefined when the
   * provider does not publish it. While the provider cannot be reached, keys fetched before go on
   * verifying tokens; a token naming any other key gets IdentityProviderUnreachable.
   */
  async key(kid: string | undefined): Promise<JsonWebKey | undefined> {
    const age = Date.now() - this.fetchedAt;
    if (age > CACHE_MS || (!this.find(kid) && age > REFETCH_MS)) await this.refresh();
    const known = this.find(kid);
    if (!known && this.failure) {
      throw new IdentityProviderUnreachable(`the identity provider's keys could not be fetched: ${this.failure.message}`, { cause: this.failure });
    }
    return known;
  }

  private find(kid: string | undefined): JsonWebKey | undefined {
    if (kid !== undefined) return this.keys.get(kid);
    return this.keys.size === 1 ? [...this.keys.values()][0] : undefined;
  }

  private refresh(): Promise<void> {
    this.pending ??= this.fetchKeys()
      .then(() => void (this.failure = null), (error: Error) => void (this.failure = error))
      .finally(() => (this.pending = null));
    return this.pending;
  }

  private async fetchKeys(): Promise<void> {
    this.fetchedAt = Date.now();
    const url = this.env.OIDC_JWKS_URL ?? (await this.discover());
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`the JWKS at ${url} answered ${response.status}`);
    const { keys } = (await response.json()) as { keys?: (JsonWebKey & { kid?: string; use?: string })[] };
    this.keys = new Map((keys ?? []).filter((k) => k.use === undefined || k.use === 'sig').map((k, i) => [k.kid ?? `#${i}`, k]));
  }

  private async discover(): Promise<string> {
    const url = `${this.env.OIDC_ISSUER!.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`the discovery document at ${url} answered ${response.status}`);
    const { jwks_uri } = (await response.json()) as { jwks_uri?: string };
    if (!jwks_uri) throw new Error(`the discovery document at ${url} names no jwks_uri`);
    return jwks_uri;
  }
}
