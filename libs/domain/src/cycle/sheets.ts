/** Score sheets as the cycle state keeps them: one row per scorer, scores in criterion order. */
import type { ScoringScheme } from '../policy/schema';
import type { ScoreSheet, Verdict } from '../scoring/weighted';
import type { RoundRecord, RunningCycle, SheetRow } from './state';

/** `[scorer, ...scores in criterion order, ...verdicts in gate order]` (verdicts only when the scheme has gates). */
export function encodeSheet(scheme: ScoringScheme, scorer: string, scores: Record<string, number>, verdicts: Record<string, Verdict> | undefined): SheetRow {
  const row: SheetRow = [scorer, ...scheme.criteria.map((c) => scores[c.id])];
  for (const g of scheme.gates) row.push(verdicts?.[g.id] ?? null);
  return row;
}

export function sheetScorer(row: SheetRow): string {
  return row[0] as string;
}

/**
 * The round's sheets in the ranking's terms. A sheet's id is `<applicationId>/<scorer>` (a scorer
 * scores an application once per round); the sheet's own id is in its ReviewSubmitted /
 * EvaluationScoresSubmitted event.
 */
export function roundSheets(s: RunningCycle, round: RoundRecord, only?: readonly string[]): ScoreSheet[] {
  const scheme = s.policy.scoring[round.scoring];
  const keep = only ? new Set(only) : null;
  const out: ScoreSheet[] = [];
  for (const [applicationId, rows] of Object.entries(round.sheets)) {
    if (keep && !keep.has(applicationId)) continue;
    for (const row of rows) out.push(decodeSheet(scheme, applicationId, row));
  }
  return out;
}

export function decodeSheet(scheme: ScoringScheme, applicationId: string, row: SheetRow): ScoreSheet {
  const scorer = sheetScorer(row);
  const values: Record<string, number> = {};
  scheme.criteria.forEach((c, i) => (values[c.id] = row[1 + i] as number));
  const verdicts: Record<string, Verdict> = {};
  scheme.gates.forEach((g, i) => {
    const v = row[1 + scheme.criteria.length + i];
    if (v === 'pass' || v === 'fail') verdicts[g.id] = v;
  });
  return { scoreId: `${applicationId}/${scorer}`, candidateId: applicationId, scorerId: scorer, values, verdicts };
}

/** How many sheets an application has in the round. */
export function sheetCount(round: RoundRecord, applicationId: string): number {
  return round.sheets[applicationId]?.length ?? 0;
}

export function hasSheetBy(round: RoundRecord, applicationId: string, scorer: string): boolean {
  return (round.sheets[applicationId] ?? []).some((row) => sheetScorer(row) === scorer);
}
