/**
 * Compact forms of a ranking. `rank()` returns the full RankResult (every per-criterion mean and
 * score id); a cycle records less so that its events and its workflow state stay small at a
 * thousand applications:
 *
 * - `RankingRecord` (in ReviewRoundClosed, NarrowingProposed, RefillRankingProposed): per candidate
 *   the total, the per-criterion means in the scheme's criterion order and the number of scores;
 *   tie-breaks, gate removals, exclusions, the lottery and the inputs hash. Score sheets are named
 *   by their scorer (a scorer scores an application once per round), not by their ids.
 * - `RankFacts` (in the cycle state and the decision events): the order, the tie-break and lottery
 *   facts and the inputs hash; nothing per criterion.
 */
import type { ScoringScheme } from '../policy/schema';
import type { LotteryDraw, RankResult } from './rank';

export interface RecordedCandidate {
  candidateId: string;
  total: number;
  /** Mean normalised score (0..1) per criterion, in the order of `RankingRecord.criteria`. */
  perCriterion: number[];
  scoreCount: number;
  /** Present only when a tie-break rule placed this candidate. */
  tieBrokenBy?: string;
  /** Present only when true. */
  belowMinimum?: true;
  zeroed?: true;
}

export interface RecordedGateRemoval {
  candidateId: string;
  positionBeforeGates: number;
  total: number;
  failedGates: string[];
  /** The scorers whose sheets said "fail". */
  failScorers: string[];
}

export interface RecordedExclusion {
  candidateId: string;
  reason: 'below_minimum_scores';
  scoreCount: number;
  required: number;
}

/** What a cycle knows of a ranking after it: the order and how ties and gates were settled. */
export interface RankFacts {
  /** Candidate ids, best first, after gate removals. */
  order: string[];
  /** Only the candidates a tie-break rule placed: `criterion:<id>`, `earliest_submission`, `more_scores` or `lottery`. */
  tieBrokenBy: Record<string, string>;
  removedByGate: RecordedGateRemoval[];
  excluded: RecordedExclusion[];
  lottery: { seed: string; draw: LotteryDraw[] } | null;
  /** How many score sheets the ranking counted. */
  scoreCount: number;
  /** SHA-256 of the canonical inputs (scheme, candidates, sheets, seed). */
  inputsHash: string;
  rulesVersion: number;
}

/** The ranking as the events record it: the facts plus totals and per-criterion means. */
export interface RankingRecord extends Omit<RankFacts, 'order' | 'tieBrokenBy'> {
  /** Criterion ids: the order of every `perCriterion` list. */
  criteria: string[];
  ranking: RecordedCandidate[];
}

/** The scorer part of a cycle's synthetic score id (`<applicationId>/<scorer>`). */
export function scorerOfSheetId(scoreId: string): string {
  const i = scoreId.indexOf('/');
  return i < 0 ? scoreId : scoreId.slice(i + 1);
}

export function rankingRecord(result: RankResult, scheme: ScoringScheme, rulesVersion: number): RankingRecord {
  const criteria = scheme.criteria.map((c) => c.id);
  return {
    criteria,
    ranking: result.ranking.map((r) => ({
      candidateId: r.candidateId,
      total: r.total,
      perCriterion: criteria.map((c) => r.perCriterion[c] ?? 0),
      scoreCount: r.scoreCount,
      ...(r.tieBrokenBy ? { tieBrokenBy: r.tieBrokenBy } : {}),
      ...(r.belowMinimum ? { belowMinimum: true as const } : {}),
      ...(r.zeroed ? { zeroed: true as const } : {}),
    })),
    removedByGate: result.removedByGate.map((g) => ({
      candidateId: g.candidateId,
      positionBeforeGates: g.positionBeforeGates,
      total: g.total,
      failedGates: g.failedGates,
      failScorers: g.failScoreIds.map(scorerOfSheetId),
    })),
    excluded: result.excluded,
    lottery: result.lottery ?? null,
    scoreCount: result.scoreIds.length,
    inputsHash: result.inputsHash,
    rulesVersion,
  };
}

export function rankFacts(record: RankingRecord): RankFacts {
  const tieBrokenBy: Record<string, string> = {};
  for (const r of record.ranking) if (r.tieBrokenBy) tieBrokenBy[r.candidateId] = r.tieBrokenBy;
  return {
    order: record.ranking.map((r) => r.candidateId),
    tieBrokenBy,
    removedByGate: record.removedByGate,
    excluded: record.excluded,
    lottery: record.lottery,
    scoreCount: record.scoreCount,
    inputsHash: record.inputsHash,
    rulesVersion: record.rulesVersion,
  };
}

/** A recorded ranking with each candidate's per-criterion means named again (for program managers' reads). */
export function namedRanking(record: RankingRecord): Array<Omit<RecordedCandidate, 'perCriterion'> & { position: number; perCriterion: Record<string, number> }> {
  return record.ranking.map((r, i) => ({
    ...r,
    position: i + 1,
    perCriterion: Object.fromEntries(record.criteria.map((c, k) => [c, r.perCriterion[k] ?? 0])),
  }));
}
