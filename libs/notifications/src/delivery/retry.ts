import { createHash } from 'node:crypto';

/** How long a failing delivery is retried, and how often. */
export interface RetrySchedule {
  /** The wait after the first failed attempt; it doubles after each further one. */
  initialMs: number;
  /** No wait is longer than this. */
  maxMs: number;
  /** Counted from the first attempt: after this long a delivery that still fails is dead-lettered. */
  giveUpAfterMs: number;
}

export const DEFAULT_RETRY: RetrySchedule = { initialMs: 30_000, maxMs: 3_600_000, giveUpAfterMs: 24 * 3_600_000 };

/**
 * The wait after failed attempt `attempt` (1-based): exponential, capped, with jitter in
 * [half, whole] so that endpoints coming back are not hit by every sender at once. The jitter is
 * drawn from the delivery's key and the attempt number: a relay that restarts computes the same wait.
 */
export function retryDelayMs(schedule: RetrySchedule, key: string, attempt: number): number {
  const full = Math.min(schedule.maxMs, schedule.initialMs * 2 ** Math.max(0, attempt - 1));
  const u = createHash('sha256').update(`${key}#${attempt}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  return Math.round(full * (0.5 + 0.5 * u));
}
