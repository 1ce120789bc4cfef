/**
 * Ranking: weighted totals, then the policy's tie-break rules in order, then a seeded lottery;
 * pass/fail gates are applied after ranking, so a high-ranked team that fails a gate is removed and
 * the record shows where it stood. The result carries its inputs so an auditor can re-derive it.
 */
import { hashOf } from '../shared/canonical';
import { compareInstants } from '../shared/time';
import type { ScoringScheme, TieBreakRule } from '../policy/schema';
import { createPrng, drawOrder } from './lottery';
import { weightedScores, type Candidate, type ScoreSheet, type WeightedScore } from './weighted';

/**
 * The version of the ranking and tie-break rules in this code. A cycle records the version it opened
 * with (CallOpened) and ranks with it for its whole life; a future change to these rules adds a
 * version and branches on it here, so cycles already running keep the rules they started with.
 */
export const RULES_VERSION = 1;
export const SUPPORTED_RULES_VERSIONS: readonly number[] = [1];

export interface RankInput {
  scheme: ScoringScheme;
  /** The rules version of the cycle (RULES_VERSION when absent). */
  rulesVersion?: number;
  candidates: Candidate[];
  sheets: ScoreSheet[];
  /** Seed for the lottery, recorded with the result. */
  seed: string;
  /** Leave out candidates with fewer than the scheme's minimum number of scores. */
  excludeBelowMinimum?: boolean;
}

export interface RankedCandidate extends WeightedScore {
  /** 1-based, after gate removals. */
  position: number;
  positionBeforeGates: number;
  belowMinimum: boolean;
  /** Which rule put this candidate below or above an equal total: `criterion:<id>`, `earliest_submission`, `more_scores` or `lottery`. */
  tieBrokenBy: string | null;
}

export interface GateRemoval {
  candidateId: string;
  positionBeforeGates: number;
  total: number;
  failedGates: string[];
  /** The score sheets that said "fail". */
  failScoreIds: string[];
}

export interface LotteryDraw {
  /** The tied candidates (sorted) and the order they were drawn in (first = ranks highest). */
  among: string[];
  order: string[];
}

export interface RankResult {
  ranking: RankedCandidate[];
  removedByGate: GateRemoval[];
  excluded: Array<{ candidateId: string; reason: 'below_minimum_scores'; scoreCount: number; required: number }>;
  lottery?: { seed: string; draw: LotteryDraw[] };
  /** Every score id the result was computed from. */
  scoreIds: string[];
  /** SHA-256 of the canonical inputs: same inputs, same hash, same result. */
  inputsHash: string;
}

export function rank(input: RankInput): RankResult {
  const { scheme, seed } = input;
  const rulesVersion = input.rulesVersion ?? RULES_VERSION;
  if (!SUPPORTED_RULES_VERSIONS.includes(rulesVersion)) throw new Error(`ranking rules version ${rulesVersion} is not known to this code`);
  const candidates = [...input.candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const scored = weightedScores(scheme, candidates, input.sheets);
  const byId = new Map(candidates.map((c) => [c.id, c]));
  const min = scheme.minimumScoresPerApplication;
  const below = (w: WeightedScore) => !w.zeroed && w.scoreCount < min;

  const excluded = input.excludeBelowMinimum
    ? scored.filter(below).map((w) => ({ candidateId: w.candidateId, reason: 'below_minimum_scores' as const, scoreCount: w.scoreCount, required: min }))
    : [];
  const pool = scored.filter((w) => !excluded.some((e) => e.candidateId === w.candidateId));

  const prng = createPrng(seed);
  const draws: LotteryDraw[] = [];
  const brokenBy = new Map<string, string>();
  const order = (group: WeightedScore[], ruleIndex: number): WeightedScore[] => {
    if (group.length <= 1) return group;
    const rule: TieBreakRule | undefined = scheme.tieBreak[ruleIndex];
    if (!rule) {
      const drawn = drawOrder(prng, group.map((g) => g.candidateId));
      draws.push({ among: group.map((g) => g.candidateId).sort(), order: drawn });
      drawn.forEach((id) => brokenBy.set(id, 'lottery'));
      return drawn.map((id) => group.find((g) => g.candidateId === id)!);
    }
    const sub = partition(group, (a, b) => compareByRule(rule, a, b, byId, rulesVersion));
    if (sub.length > 1) group.forEach((g) => brokenBy.set(g.candidateId, ruleName(rule)));
    return sub.flatMap((s) => order(s, ruleIndex + 1));
  };
  const ordered = partition(pool, (a, b) => b.total - a.total).flatMap((g) => order(g, 0));

  const removedByGate: GateRemoval[] = [];
  const ranking: RankedCandidate[] = [];
  ordered.forEach((w, i) => {
    const sheets = input.sheets.filter((s) => s.candidateId === w.candidateId && w.scoreIds.includes(s.scoreId));
    const failedGates: string[] = [];
    const failScoreIds = new Set<string>();
    for (const gate of scheme.gates) {
      const fails = sheets.filter((s) => s.verdicts?.[gate.id] === 'fail');
      const passes = sheets.filter((s) => s.verdicts?.[gate.id] === 'pass');
      const failed = gate.failWhen === 'any_fail' ? fails.length > 0 : fails.length > passes.length;
      if (failed) {
        failedGates.push(gate.id);
        fails.forEach((s) => failScoreIds.add(s.scoreId));
      }
    }
    if (failedGates.length > 0) {
      removedByGate.push({ candidateId: w.candidateId, positionBeforeGates: i + 1, total: w.total, failedGates, failScoreIds: [...failScoreIds].sort() });
      return;
    }
    ranking.push({ ...w, position: ranking.length + 1, positionBeforeGates: i + 1, belowMinimum: below(w), tieBrokenBy: brokenBy.get(w.candidateId) ?? null });
  });

  return {
    ranking,
    removedByGate,
    excluded,
    ...(draws.length > 0 ? { lottery: { seed, draw: draws } } : {}),
    scoreIds: scored.flatMap((w) => w.scoreIds).sort(),
    inputsHash: inputsHash(input),
  };
}

/** Optional fields are spelled out so that absent and default inputs hash alike (a weight and a penalty only when present, as before they existed). */
export function inputsHash(input: RankInput): string {
  const candidates = input.candidates
    .map((c) => ({ id: c.id, submittedAt: c.submittedAt ?? null, zeroed: !!c.zeroed, ...(c.penalty ? { penalty: c.penalty } : {}) }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const sheets = input.sheets
    .map((s) => ({ scoreId: s.scoreId, candidateId: s.candidateId, scorerId: s.scorerId, values: s.values, verdicts: s.verdicts ?? {}, ...(s.weight !== undefined ? { weight: s.weight } : {}) }))
    .sort((a, b) => (a.scoreId < b.scoreId ? -1 : 1));
  return hashOf({ scheme: input.scheme, candidates, sheets, seed: input.seed, excludeBelowMinimum: !!input.excludeBelowMinimum });
}

function ruleName(rule: TieBreakRule): string {
  switch (rule.by) {
    case 'criterion':
      return `criterion:${rule.criterion}`;
    case 'earliest_submission':
    case 'more_scores':
      return rule.by;
    default: {
      const never: never = rule;
      throw new Error(`unknown tie-break ${JSON.stringify(never)}`);
    }
  }
}

/** Negative when `a` ranks above `b`. `rulesVersion` is where a future change to a rule branches (only version 1 exists). */
function compareByRule(rule: TieBreakRule, a: WeightedScore, b: WeightedScore, byId: Map<string, Candidate>, _rulesVersion: number): number {
  switch (rule.by) {
    case 'criterion':
      return (b.perCriterion[rule.criterion] ?? 0) - (a.perCriterion[rule.criterion] ?? 0);
    case 'earliest_submission': {
      const sa = byId.get(a.candidateId)?.submittedAt;
      const sb = byId.get(b.candidateId)?.submittedAt;
      if (!sa || !sb) return sa ? -1 : sb ? 1 : 0;
      return compareInstants(sa, sb);
    }
    case 'more_scores':
      return b.scoreCount - a.scoreCount;
    default: {
      const never: never = rule;
      throw new Error(`unknown tie-break ${JSON.stringify(never)}`);
    }
  }
}

/** Stable sort, then split into runs that compare equal. */
function partition<T>(items: T[], cmp: (a: T, b: T) => number): T[][] {
  const sorted = [...items].sort(cmp);
  const groups: T[][] = [];
  for (const item of sorted) {
    const last = groups[groups.length - 1];
    if (last && cmp(last[0], item) === 0) last.push(item);
    else groups.push([item]);
  }
  return groups;
}

