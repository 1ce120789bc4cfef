/**
 * Bounded waiting and retrying for the chaos harness. Nothing here stands in for synchronization:
 * every wait is on a condition with a bound, and running out of the bound is a HarnessError (the
 * harness could not finish its experiment), never an invariant violation.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** The harness itself failed (its own bound ran out, a process would not start, a bug): not a finding about the system. */
export class HarnessError extends Error {
  override readonly name = 'HarnessError';
}

/** Set once the run is being torn down (Ctrl-C, or a fatal harness error): waits give up promptly. */
export class Stopper {
  stopped = false;
  private readonly waiters = new Set<() => void>();

  stop(): void {
    this.stopped = true;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Waits `ms` (a deliberate pause: a fault's duration, a poll interval) unless the run stops first. */
  async pause(ms: number): Promise<void> {
    if (this.stopped) return;
    const ac = new AbortController();
    const wake = () => ac.abort();
    this.waiters.add(wake);
    try {
      await delay(ms, undefined, { signal: ac.signal });
    } catch {
      // stopped
    } finally {
      this.waiters.delete(wake);
    }
  }
}

/** Polls `probe` every `everyMs` until it yields a value (not undefined/false); HarnessError after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, options: { timeoutMs: number; everyMs?: number; stopper?: Stopper }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    if (options.stopper?.stopped) throw new HarnessError(`stopped while waiting for ${what}`);
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const last = lastError ? ` (last error: ${(lastError as Error).message})` : '';
      throw new HarnessError(`gave up after ${Math.round(options.timeoutMs / 1000)} s waiting for ${what}${last}`);
    }
    if (options.stopper) await options.stopper.pause(options.everyMs ?? 250);
    else await delay(options.everyMs ?? 250);
  }
}

/**
 * Calls `fn` until it succeeds, retrying errors that `transient` accepts (an outage: the worker,
 * the Temporal server or PostgreSQL being down) with backoff, within `timeoutMs`. Other errors
 * are thrown at once; running out of time is a HarnessError carrying the last transient error.
 */
export async function retrying<T>(
  what: string,
  fn: () => Promise<T>,
  options: { timeoutMs: number; transient: (error: unknown) => boolean; stopper?: Stopper; onRetry?: (error: unknown, attempt: number) => void },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    if (options.stopper?.stopped) throw new HarnessError(`stopped while ${what}`);
    try {
      return await fn();
    } catch (error) {
      if (!options.transient(error)) throw error;
      if (Date.now() > deadline) throw new HarnessError(`gave up after ${Math.round(options.timeoutMs / 1000)} s ${what}: ${(error as Error).message}`);
      options.onRetry?.(error, attempt);
      const backoff = Math.min(3_000, 200 * 2 ** Math.min(attempt, 4));
      if (options.stopper) await options.stopper.pause(backoff);
      else await delay(backoff);
    }
  }
}
