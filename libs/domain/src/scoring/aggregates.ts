/**
 * What may be published about a ranking. Per-team scores stay with program managers and auditors;
 * the policy names the aggregates that the public sees.
 */
import type { ProgramPolicy } from '../policy/schema';
import type { RankResult } from './rank';
import { round6 } from './weighted';

/** Who reads: a token's role (`admin` runs the installation), or the public. */
export type Viewer = 'admin' | 'program_manager' | 'auditor' | 'applicant' | 'reviewer' | 'evaluator' | 'public';

/** The only readers of per-team scores, whatever the policy says: no policy field widens this. */
const TEAM_SCORE_READERS: readonly string[] = ['program_manager', 'auditor', 'admin'] satisfies Viewer[];

export interface PublishedAggregates {
  applicationCount?: number;
  topScore?: number;
  meanScore?: number;
  medianScore?: number;
}

/**
 * Takes a full RankResult or a recorded RankingRecord: only the totals and the counts are read.
 * The policy says over whom (`over`: the ranked teams, or every evaluated team with those a gate
 * removed), to how many decimals (`decimals`), and which of the aggregates.
 */
export function publishedAggregates(
  result: { ranking: ReadonlyArray<Pick<RankResult['ranking'][number], 'total'>>; removedByGate: ReadonlyArray<{ total?: number } | unknown>; excluded: readonly unknown[] },
  confidentiality: ProgramPolicy['confidentiality'],
): PublishedAggregates {
  const p = confidentiality.publish;
  const removed = p.over === 'evaluated' ? result.removedByGate.map((r) => (r as { total?: number }).total).filter((t): t is number => typeof t === 'number') : [];
  const totals = [...result.ranking.map((r) => r.total), ...removed];
  // Without `decimals`, as before: means and even medians to 6 places, the top and odd medians as they are.
  const rounded = (x: number, computed = false) => (p.decimals !== undefined ? roundTo(x, p.decimals) : computed ? round6(x) : x);
  const out: PublishedAggregates = {};
  if (p.applicationCount) out.applicationCount = result.ranking.length + result.removedByGate.length + result.excluded.length;
  if (totals.length === 0) return out;
  if (p.topScore) out.topScore = rounded(Math.max(...totals));
  if (p.meanScore) out.meanScore = rounded(totals.reduce((a, b) => a + b, 0) / totals.length, true);
  if (p.medianScore) {
    const s = [...totals].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    out.medianScore = s.length % 2 ? rounded(s[mid]) : rounded((s[mid - 1] + s[mid]) / 2, true);
  }
  return out;
}

/** Half away from zero at `decimals` places, through the decimal text so that 70.55 gives 70.6 (not 70.5 from binary 70.549999...). */
function roundTo(x: number, decimals: number): number {
  return Number(Math.sign(x) * Number(`${Math.round(Number(`${Math.abs(x)}e${decimals}`))}e-${decimals}`));
}

const ROUND_OF_RANKING: Record<string, 'review' | 'evaluation' | 'refill'> = { review: 'review', narrowing_proposal: 'evaluation', refill_proposal: 'refill' };

/** Whether the policy publishes the aggregates of a ranking of this kind (`review`, `narrowing_proposal`, `refill_proposal`). */
export function publishesRanking(confidentiality: ProgramPolicy['confidentiality'], kind: string): boolean {
  const rounds = confidentiality.publish.rounds;
  return rounds === undefined || (ROUND_OF_RANKING[kind] !== undefined && rounds.includes(ROUND_OF_RANKING[kind]));
}

/** Per-team scores (rankings with totals, the state as of a date, everyone's obligations): program managers, auditors and admins. */
export function canSeeTeamScores(viewer: Viewer | string): boolean {
  return TEAM_SCORE_READERS.includes(viewer);
}

/** Awardee names: those who see team scores, and everyone else when the policy publishes them (`confidentiality.publish.awardeeNames`). */
export function canSeeAwardeeNames(viewer: Viewer | string, confidentiality: ProgramPolicy['confidentiality']): boolean {
  return canSeeTeamScores(viewer) || confidentiality.publish.awardeeNames;
}
