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

/** Takes a full RankResult or a recorded RankingRecord: only the totals and the counts are read. */
export function publishedAggregates(
  result: { ranking: ReadonlyArray<Pick<RankResult['ranking'][number], 'total'>>; removedByGate: readonly unknown[]; excluded: readonly unknown[] },
  confidentiality: ProgramPolicy['confidentiality'],
): PublishedAggregates {
  const totals = result.ranking.map((r) => r.total);
  const p = confidentiality.publish;
  const out: PublishedAggregates = {};
  if (p.applicationCount) out.applicationCount = result.ranking.length + result.removedByGate.length + result.excluded.length;
  if (totals.length === 0) return out;
  if (p.topScore) out.topScore = Math.max(...totals);
  if (p.meanScore) out.meanScore = round6(totals.reduce((a, b) => a + b, 0) / totals.length);
  if (p.medianScore) {
    const s = [...totals].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    out.medianScore = s.length % 2 ? s[mid] : round6((s[mid - 1] + s[mid]) / 2);
  }
  return out;
}

/** Per-team scores (rankings with totals, the state as of a date, everyone's obligations): program managers, auditors and admins. */
export function canSeeTeamScores(viewer: Viewer | string): boolean {
  return TEAM_SCORE_READERS.includes(viewer);
}

/** Awardee names: those who see team scores, and everyone else when the policy publishes them (`confidentiality.publish.awardeeNames`). */
export function canSeeAwardeeNames(viewer: Viewer | string, confidentiality: ProgramPolicy['confidentiality']): boolean {
  return canSeeTeamScores(viewer) || confidentiality.publish.awardeeNames;
}
