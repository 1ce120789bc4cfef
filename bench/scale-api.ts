import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { issueToken, type Principal } from '@concentra/auth';

/**
 * The scale run's HTTP side (bench/scale-call.ts): the admin API as a client sees it, and a phase of
 * commands sent by concurrent clients, with what was accepted, refused and retried.
 */

export interface PhaseResult {
  name: string;
  planned: number;
  ok: number;
  /** Accepted on a retry after a 503 or a lost connection. */
  retried: number;
  failures: Map<string, number>;
  latenciesMs: number[];
  seconds: number;
  stalled: string | null;
}

export interface Answer {
  status: number;
  body: unknown;
  retryAfter: string | null;
}

export type Outcome = { ok: true; retried: boolean } | { ok: false; reason: string };

export class Api {
  constructor(private readonly base: string) {}

  async call(method: string, path: string, auth: string, body?: unknown, timeoutMs = 60_000): Promise<Answer> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed, retryAfter: res.headers.get('retry-after') };
  }

  async expect(method: string, path: string, auth: string, body: unknown, status: number): Promise<unknown> {
    const res = await this.call(method, path, auth, body);
    if (res.status !== status) throw new Error(`${method} ${path}: expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body).slice(0, 600)}`);
    return res.body;
  }

  /**
   * A person's command, sent as a client would: a 503 (Temporal or PostgreSQL busy) or a lost
   * connection is retried with backoff; a 409 "duplicate" after such a retry means the first try
   * was applied.
   */
  async command(path: string, auth: string, body: unknown): Promise<Outcome> {
    let uncertain = false;
    for (let attempt = 1; attempt <= 6; attempt++) {
      let res: Answer | null = null;
      try {
        res = await this.call('POST', path, auth, body);
      } catch (error) {
        if (attempt === 6) return { ok: false, reason: `no answer: ${(error as Error).message}` };
        uncertain = true;
      }
      if (res) {
        if (res.status === 201 || res.status === 200) return { ok: true, retried: attempt > 1 };
        const problem = res.body as { error?: string; message?: string; fields?: Array<{ field: string; reason: string }> } | null;
        if (res.status === 409 && uncertain && problem?.error === 'duplicate') return { ok: true, retried: true };
        if (res.status !== 503 || attempt === 6) {
          const field = problem?.fields?.[0];
          return { ok: false, reason: `${res.status} ${problem?.error ?? ''}: ${field ? `${field.field}: ${field.reason}` : (problem?.message ?? JSON.stringify(res.body)).slice(0, 200)}` };
        }
        uncertain = true;
        const after = Number(res.retryAfter);
        await pause(Number.isFinite(after) && after > 0 ? Math.min(after * 1000, 5_000) : 250 * 2 ** attempt);
        continue;
      }
      await pause(250 * 2 ** attempt);
    }
    return { ok: false, reason: 'gave up' };
  }
}

export function token(principal: Principal): string {
  return `Bearer ${issueToken(principal, process.env.AUTH_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET, process.env.AUTH_JWT_ISSUER ?? 'concentra')}`;
}

/** Sends every item with `concurrency` clients; stops early when nothing has been accepted for `stallMs`. */
export async function drive<T>(
  name: string,
  items: T[],
  concurrency: number,
  stallMs: number,
  send: (item: T) => Promise<Outcome>,
  log: (line: string) => void = () => undefined,
): Promise<PhaseResult> {
  const result: PhaseResult = { name, planned: items.length, ok: 0, retried: 0, failures: new Map(), latenciesMs: [], seconds: 0, stalled: null };
  const start = Date.now();
  const progress = setInterval(() => {
    const refused = [...result.failures.values()].reduce((a, b) => a + b, 0);
    log(`  ${name}: ${result.ok}/${items.length} accepted, ${refused} refused after ${Math.round((Date.now() - start) / 1000)} s`);
  }, 15_000);
  let lastAccepted = Date.now();
  let next = 0;
  const client = async () => {
    while (next < items.length && !result.stalled) {
      if (Date.now() - lastAccepted > stallMs) {
        result.stalled = `nothing accepted for ${Math.round(stallMs / 1000)} s after ${result.ok} of ${items.length}`;
        break;
      }
      const item = items[next++];
      const { value, ms } = await timed(() => send(item));
      if (value.ok) {
        result.ok++;
        if (value.retried) result.retried++;
        result.latenciesMs.push(ms);
        lastAccepted = Date.now();
      } else {
        result.failures.set(value.reason, (result.failures.get(value.reason) ?? 0) + 1);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client)).finally(() => clearInterval(progress));
  result.seconds = (Date.now() - start) / 1000;
  return result;
}

export async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = process.hrtime.bigint();
  const value = await work();
  return { value, ms: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** A deliberate pause between polls or before a retry, never a stand-in for a condition. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
