/**
 * The statistics a benchmark score carries: accuracy, a seeded percentile bootstrap 95 % interval,
 * and whether two scores can be told apart. Chance comes only from a PRNG seeded by the suite's
 * published seed, so an auditor re-running it gets the same interval to the last digit.
 */
import { sha256 } from '@noble/hashes/sha256';
import { utf8ToBytes } from '@noble/hashes/utils';
import { round6 } from '../scoring/weighted';

/** Uniform numbers in [0, 1) from a seed: mulberry32 seeded with the first 4 bytes of SHA-256(seed). */
export function createUniform(seed: string): () => number {
  const h = sha256(utf8ToBytes(seed));
  return mulberry32(((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0);
}

/** mulberry32: a small, fast generator of uniform numbers in [0, 1) from a 32-bit state. */
export function mulberry32(state: number): () => number {
  let a = state >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Interval {
  low: number;
  high: number;
}

/** The share of 1s among item outcomes (1 right, 0 wrong or unanswered). */
export function accuracy(outcomes: readonly number[]): number {
  return outcomes.length === 0 ? 0 : round6(outcomes.reduce((a, b) => a + b, 0) / outcomes.length);
}

export const BOOTSTRAP_RESAMPLES = 2000;

/**
 * Percentile bootstrap interval of the accuracy: resample the items with replacement
 * `resamples` times, take the 2.5th and 97.5th percentiles of the resampled accuracies.
 */
export function bootstrapInterval(outcomes: readonly number[], seed: string, resamples = BOOTSTRAP_RESAMPLES, level = 0.95): Interval {
  const n = outcomes.length;
  if (n === 0) return { low: 0, high: 0 };
  const next = createUniform(`${seed}:bootstrap`);
  const means = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += outcomes[Math.floor(next() * n)];
    means[r] = sum / n;
  }
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  const at = (q: number) => means[Math.min(resamples - 1, Math.max(0, Math.floor(q * resamples)))];
  return { low: round6(at(tail)), high: round6(at(1 - tail)) };
}

/** Two scores are told apart only when their intervals do not overlap. */
export function separable(a: Interval, b: Interval): boolean {
  return a.low > b.high || b.low > a.high;
}
