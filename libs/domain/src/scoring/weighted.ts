/**
 * From raw reviewer scores to one weighted total per candidate. Scales differ per criterion, so each
 * raw score is first mapped to 0..1; optional z-scores per reviewer remove the difference between a
 * harsh and a generous reviewer before scores are averaged.
 */
import { DomainError } from '../shared/errors';
import type { ScoringScheme } from '../policy/schema';

export type Verdict = 'pass' | 'fail';

/** One scorer's scores for one candidate: a review, or an evaluator's score set. */
export interface ScoreSheet {
  scoreId: string;
  candidateId: string;
  scorerId: string;
  /** Raw score per criterion id, on that criterion's scale. */
  values: Record<string, number>;
  /** Pass/fail per gate id. */
  verdicts?: Record<string, Verdict>;
  /** How much this sheet counts in the candidate's means against a sheet of weight 1 (a peer review, issue 15); absent = 1. */
  weight?: number;
}

export interface Candidate {
  id: string;
  /** Used by the `earliest_submission` tie-break. */
  submittedAt?: string;
  /** Counts as zero on every criterion (e.g. no evaluation submission under a "score zero" policy). */
  zeroed?: boolean;
  /** Points taken off the total (after scaling, never below 0): a policy's penalty (missed peer reviews, issue 15); absent = none. */
  penalty?: number;
}

export interface WeightedScore {
  candidateId: string;
  total: number;
  /** Mean normalised score (0..1) per criterion. */
  perCriterion: Record<string, number>;
  scoreIds: string[];
  scoreCount: number;
  zeroed: boolean;
}

const PRECISION = 1e6;
/** Rounded so that floating-point noise never decides a tie; ties go to the rules and the lottery. */
export const round6 = (x: number): number => Math.round(x * PRECISION) / PRECISION;

export function validateSheet(scheme: ScoringScheme, sheet: ScoreSheet): void {
  for (const c of scheme.criteria) {
    const v = sheet.values[c.id];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new DomainError('validation_failed', `a score for criterion "${c.id}" is required`, `scores.${c.id}`);
    }
    if (v < c.scale.min || v > c.scale.max) {
      throw new DomainError('validation_failed', `must be between ${c.scale.min} and ${c.scale.max}`, `scores.${c.id}`);
    }
  }
  for (const key of Object.keys(sheet.values)) {
    if (!scheme.criteria.some((c) => c.id === key)) {
      throw new DomainError('validation_failed', `no criterion "${key}" in this scheme`, `scores.${key}`);
    }
  }
  for (const [gate, verdict] of Object.entries(sheet.verdicts ?? {})) {
    if (!scheme.gates.some((g) => g.id === gate)) throw new DomainError('validation_failed', `no gate "${gate}" in this scheme`, `verdicts.${gate}`);
    if (verdict !== 'pass' && verdict !== 'fail') throw new DomainError('validation_failed', 'must be "pass" or "fail"', `verdicts.${gate}`);
  }
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The sheets' mean, each counted by its weight; with every weight absent exactly `mean`. */
function weightedMean(sheets: ScoreSheet[], value: (s: ScoreSheet) => number): number {
  if (sheets.every((s) => s.weight === undefined)) return mean(sheets.map(value));
  const total = sheets.reduce((a, s) => a + (s.weight ?? 1), 0);
  return total === 0 ? 0 : sheets.reduce((a, s) => a + (s.weight ?? 1) * value(s), 0) / total;
}

function sd(xs: number[], m: number): number {
  return xs.length === 0 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / xs.length);
}

/** Normalised (0..1) value per sheet and criterion, after optional per-reviewer z-scores. */
function normalisedValues(scheme: ScoringScheme, sheets: ScoreSheet[]): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const s of sheets) {
    const row: Record<string, number> = {};
    for (const c of scheme.criteria) row[c.id] = (s.values[c.id] - c.scale.min) / (c.scale.max - c.scale.min);
    out.set(s.scoreId, row);
  }
  if (scheme.reviewerNormalization === 'none') return out;

  for (const c of scheme.criteria) {
    const all = sheets.map((s) => out.get(s.scoreId)![c.id]);
    const poolMean = mean(all);
    const poolSd = sd(all, poolMean);
    const byScorer = new Map<string, ScoreSheet[]>();
    for (const s of sheets) byScorer.set(s.scorerId, [...(byScorer.get(s.scorerId) ?? []), s]);
    const adjusted = new Map<string, number>();
    for (const own of byScorer.values()) {
      const xs = own.map((s) => out.get(s.scoreId)![c.id]);
      const m = mean(xs);
      const d = sd(xs, m);
      // z back onto the pooled distribution, so totals stay on the policy's 0..100 (or 0..1) scale.
      own.forEach((s, i) => adjusted.set(s.scoreId, Math.min(1, Math.max(0, poolMean + (d > 0 ? (xs[i] - m) / d : 0) * poolSd))));
    }
    for (const [scoreId, v] of adjusted) out.get(scoreId)![c.id] = v;
  }
  return out;
}

export function weightedScores(scheme: ScoringScheme, candidates: Candidate[], sheets: ScoreSheet[]): WeightedScore[] {
  const zeroed = new Set(candidates.filter((c) => c.zeroed).map((c) => c.id));
  const known = new Set(candidates.map((c) => c.id));
  const counted = sheets.filter((s) => known.has(s.candidateId) && !zeroed.has(s.candidateId));
  counted.forEach((s) => validateSheet(scheme, s));
  const norm = normalisedValues(scheme, counted);
  const weightTotal = scheme.criteria.reduce((a, c) => a + c.weight, 0);

  return candidates.map((cand) => {
    const own = counted.filter((s) => s.candidateId === cand.id);
    const perCriterion: Record<string, number> = {};
    let total = 0;
    for (const c of scheme.criteria) {
      const m = cand.zeroed ? 0 : weightedMean(own, (s) => norm.get(s.scoreId)![c.id]);
      perCriterion[c.id] = round6(m);
      total += (c.weight / weightTotal) * m;
    }
    return {
      candidateId: cand.id,
      total: cand.penalty ? round6(Math.max(0, total * scheme.totalScale - cand.penalty)) : round6(total * scheme.totalScale),
      perCriterion,
      scoreIds: own.map((s) => s.scoreId).sort(),
      scoreCount: own.length,
      zeroed: !!cand.zeroed,
    };
  });
}
