/** What one look at a dependency found. */
export interface ProbeResult {
  up: boolean;
  error?: string;
}

/** How long an answer is reused by the request gate: at most one probe a second under load. */
const FRESH_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;

/**
 * A dependency's health, asked on demand with a bound and remembered briefly. Readiness asks for a
 * fresh answer; the request gate takes one that is at most a second old. One probe at a time.
 */
export class DependencyProbe {
  private last?: ProbeResult & { at: number };
  private inflight?: Promise<ProbeResult>;

  constructor(
    readonly name: 'postgresql' | 'temporal',
    private readonly ping: () => Promise<unknown>,
  ) {}

  check(): Promise<ProbeResult> {
    this.inflight ??= withTimeout(this.ping(), PROBE_TIMEOUT_MS)
      .then(
        (): ProbeResult => ({ up: true }),
        (error: unknown): ProbeResult => ({ up: false, error: error instanceof Error ? error.message : String(error) }),
      )
      .then((result) => {
        this.last = { ...result, at: Date.now() };
        this.inflight = undefined;
        return result;
      });
    return this.inflight;
  }

  async recent(): Promise<ProbeResult> {
    if (this.last && Date.now() - this.last.at < FRESH_MS) return this.last;
    return this.check();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Injection tokens: the process's PostgreSQL and Temporal probes. */
export class PostgresProbe extends DependencyProbe {}
export class TemporalProbe extends DependencyProbe {}
