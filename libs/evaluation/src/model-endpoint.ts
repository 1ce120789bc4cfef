/**
 * A team's model as an OpenAI-compatible chat-completions endpoint, asked with the official client.
 * The credential is a reference name; its secret is read from the worker's environment
 * (EVAL_CREDENTIAL_<NAME>) when the activity runs, never carried in events or workflow state.
 */
import OpenAI from 'openai';

export interface ModelEndpoint {
  /** The base URL, e.g. https://models.team.example/v1 (the client appends /chat/completions). */
  baseUrl: string;
  model: string;
  /** A name such as "team-a": the secret is EVAL_CREDENTIAL_TEAM_A in the worker's environment. */
  credentialRef?: string;
}

export class CredentialMissing extends Error {
  constructor(readonly variable: string) {
    super(`the credential reference is not configured on the worker: ${variable} is unset`);
    this.name = 'CredentialMissing';
  }
}

export function credentialVariable(ref: string): string {
  return `EVAL_CREDENTIAL_${ref.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

export function resolveCredential(ref: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  // The client insists on a key; an endpoint without one ignores it.
  if (!ref) return 'no-credential';
  const variable = credentialVariable(ref);
  const secret = env[variable];
  if (!secret) throw new CredentialMissing(variable);
  return secret;
}

/** Why one request failed, and whether asking again may help. */
export interface AskFailure {
  message: string;
  retryable: boolean;
}

export function classifyFailure(error: unknown, timeoutMs: number): AskFailure {
  if (error instanceof OpenAI.APIConnectionTimeoutError) return { message: `no answer within ${timeoutMs} ms`, retryable: true };
  if (error instanceof OpenAI.APIError && typeof error.status === 'number') {
    const retryable = error.status === 408 || error.status === 429 || error.status >= 500;
    return { message: `HTTP ${error.status}: ${error.message.slice(0, 200)}`, retryable };
  }
  if (error instanceof OpenAI.APIConnectionError) return { message: `connection failed: ${error.message.slice(0, 200)}`, retryable: true };
  if (error instanceof SyntaxError) return { message: `the answer is not valid JSON: ${error.message.slice(0, 200)}`, retryable: true };
  return { message: error instanceof Error ? error.message.slice(0, 300) : String(error), retryable: true };
}

export function clientFor(endpoint: ModelEndpoint, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): OpenAI {
  // Retries are ours (bounded per item and recorded), not the client's.
  return new OpenAI({ baseURL: endpoint.baseUrl, apiKey: resolveCredential(endpoint.credentialRef, env), timeout: timeoutMs, maxRetries: 0 });
}

/** One question, one answer: the text of the first choice, or a failure saying what was wrong with the reply. */
export async function askOnce(client: OpenAI, model: string, prompt: string, signal: AbortSignal): Promise<string> {
  const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: 64 }, { signal });
  const content = (completion as { choices?: Array<{ message?: { content?: unknown } }> }).choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw new Error('the answer has no choices[0].message.content');
  return content;
}
