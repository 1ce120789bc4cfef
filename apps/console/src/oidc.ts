/**
 * Production sign-in: OpenID Connect authorization code flow with PKCE, as a public client (no
 * secret in the browser). The provider's id token (its audience is the client id, which the API
 * takes as OIDC_AUDIENCE) becomes the console's bearer token; the API verifies it with the JWKS.
 */
export interface ConsoleConfig {
  devSignIn: boolean;
  oidc: { issuer: string; clientId: string; scope: string; roleClaim: string; orgClaim: string } | null;
}

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
}

const base64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = () => base64url(crypto.getRandomValues(new Uint8Array(32)));
const redirectUri = () => `${window.location.origin}/console/callback`;

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`the identity provider's discovery document answered ${response.status}`);
  return (await response.json()) as Discovery;
}

/** Sends the browser to the provider; it comes back to /console/callback with a code. */
export async function startSignIn(config: NonNullable<ConsoleConfig['oidc']>): Promise<void> {
  const { authorization_endpoint } = await discover(config.issuer);
  const verifier = random();
  const state = random();
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem('concentra.oidc', JSON.stringify({ verifier, state }));
  const url = new URL(authorization_endpoint);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: config.clientId, redirect_uri: redirectUri(), scope: config.scope, state, code_challenge: challenge, code_challenge_method: 'S256' })) {
    url.searchParams.set(k, v);
  }
  window.location.assign(url.toString());
}

/** On /console/callback: checks the state, redeems the code with the verifier, answers the id token. */
export async function finishSignIn(config: NonNullable<ConsoleConfig['oidc']>, search: string): Promise<string> {
  const params = new URLSearchParams(search);
  const pending = JSON.parse(sessionStorage.getItem('concentra.oidc') ?? 'null') as { verifier: string; state: string } | null;
  sessionStorage.removeItem('concentra.oidc');
  if (params.get('error')) throw new Error(`the identity provider refused: ${params.get('error_description') ?? params.get('error')}`);
  if (!pending || params.get('state') !== pending.state || !params.get('code')) throw new Error('this sign-in was not started here, or was already used: sign in again');
  const { token_endpoint } = await discover(config.issuer);
  const response = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code')!, redirect_uri: redirectUri(), client_id: config.clientId, code_verifier: pending.verifier }),
  });
  const answer = (await response.json()) as { id_token?: string; error?: string };
  if (!response.ok || !answer.id_token) throw new Error(`the identity provider did not issue a token: ${answer.error ?? response.status}`);
  return answer.id_token;
}
