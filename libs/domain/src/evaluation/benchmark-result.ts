/**
 * A team's benchmark result and what the program makes of it: the score with its interval, the
 * ranking that says which neighbours cannot be told apart, the score relative to a declared
 * reference model, and the points of the scoring criterion the policy feeds with it.
 */
import type { BenchmarkPolicy, Criterion } from '../policy/schema';
import { round6 } from '../scoring/weighted';
import { accuracy, bootstrapInterval, separable, type Interval } from './statistics';

/** One item of a run as stored: right, wrong, or never answered (after the bounded retries). */
export interface ItemOutcome {
  itemId: string;
  status: 'answered' | 'failed';
  correct: boolean;
}

export interface BenchmarkScore {
  accuracy: number;
  interval: Interval;
  items: number;
  correct: number;
  /** Items never answered (counted as wrong). */
  errors: number;
}

/**
 * The score of a run from its item outcomes, in the sample's order. An unanswered item counts as
 * wrong: a team's broken server costs the team, never the others. The bootstrap is seeded by the
 * suite's seed and the team, so re-running it from the recorded outcomes gives the same interval.
 */
export function benchmarkScore(outcomes: readonly ItemOutcome[], seed: string, applicationId: string): BenchmarkScore {
  const bits = outcomes.map((o) => (o.status === 'answered' && o.correct ? 1 : 0));
  return {
    accuracy: accuracy(bits),
    interval: bootstrapInterval(bits, `${seed}:${applicationId}`),
    items: outcomes.length,
    correct: bits.reduce<number>((a, b) => a + b, 0),
    errors: outcomes.filter((o) => o.status === 'failed').length,
  };
}

/** The score as a share of the reference model's (1 = as good as the reference); the plain accuracy when none is declared. */
export function relativeToReference(score: number, reference: { accuracy: number } | undefined): number {
  if (!reference) return score;
  return reference.accuracy <= 0 ? 0 : round6(score / reference.accuracy);
}

/**
 * The policy's mapping of a result to the criterion's points: full points at `fullPointsAt` of the
 * reference (or of a perfect score when none), linearly down to the scale's minimum at zero.
 * E.g. reference 0.8, fullPointsAt 0.95 on 0..100: accuracy 0.76 (95 % of 0.8) or more scores 100.
 */
export function benchmarkPoints(policy: Pick<BenchmarkPolicy, 'reference' | 'fullPointsAt'>, criterion: Pick<Criterion, 'scale'>, score: number): number {
  const ratio = relativeToReference(score, policy.reference);
  const share = Math.min(1, Math.max(0, ratio / (policy.fullPointsAt ?? 1)));
  const { min, max } = criterion.scale;
  return round6(min + share * (max - min));
}

export interface RankedBenchmark {
  applicationId: string;
  accuracy: number;
  interval: Interval;
  /** Teams whose interval overlaps this one's: the benchmark cannot tell them apart. */
  notSeparableFrom: string[];
}

/** Teams by accuracy (highest first, then by id so the order is stable), each with the teams it cannot be told apart from. */
export function rankBenchmarks(results: ReadonlyArray<{ applicationId: string; accuracy: number; interval: Interval }>): RankedBenchmark[] {
  const sorted = [...results].sort((a, b) => b.accuracy - a.accuracy || (a.applicationId < b.applicationId ? -1 : 1));
  return sorted.map((r) => ({
    applicationId: r.applicationId,
    accuracy: r.accuracy,
    interval: r.interval,
    notSeparableFrom: sorted.filter((o) => o !== r && !separable(o.interval, r.interval)).map((o) => o.applicationId),
  }));
}
