/**
 * Where the program's measurement enters a round's ranking: on every evaluator's sheet, the
 * measured criterion takes the team's measured points, and the provenance gate takes the check's
 * verdict. A team without a result when the round closes gets the policy's rule: zero points, or
 * left out of the ranking. Without a benchmark in the policy the sheets pass through untouched.
 */
import type { ScoringScheme, Stage } from '../policy/schema';
import type { ScoreSheet } from '../scoring/weighted';
import type { RoundRecord } from './state';

/** The gate the provenance check feeds: named by the policy, or the scheme's gate "originality". */
export const PROVENANCE_GATE = 'originality';

export function measuredRound(stage: Stage | undefined, scheme: ScoringScheme, round: RoundRecord, live: string[], sheets: ScoreSheet[]): { live: string[]; sheets: ScoreSheet[] } {
  if (stage?.kind !== 'evaluation' || !stage.benchmark || round.kind !== 'evaluation') return { live, sheets };
  const b = stage.benchmark;
  const min = scheme.criteria.find((c) => c.id === b.criterion)!.scale.min;
  const measured = round.measured ?? {};
  // Zeroed teams (no model at all) are the submission rule's; the missing-result rule is for teams that submitted.
  const kept = b.missingResult === 'exclude_team' ? live.filter((id) => measured[id] || round.zeroed.includes(id)) : live;
  const gate = scheme.gates.some((g) => g.id === PROVENANCE_GATE) ? PROVENANCE_GATE : null;
  return {
    live: kept,
    sheets: sheets
      .filter((sh) => kept.includes(sh.candidateId))
      .map((sh) => {
        const m = measured[sh.candidateId];
        const verdicts = gate && b.provenanceGate && m?.provenance ? { ...(sh.verdicts ?? {}), [gate]: m.provenance } : sh.verdicts;
        return { ...sh, values: { ...sh.values, [b.criterion]: m ? m.points : min }, ...(verdicts ? { verdicts } : {}) };
      }),
  };
}
