/**
 * A deliberately changed ranking rule, for workflows/test/rules-pinned.wf-spec.ts only: the rule
 * in force, then the order turned around (the lowest total ranks first). The test bundles the
 * workflows with this module in place of libs/domain's ranking, as a release with a changed rule would.
 */
import { rank as ruleInForce, type RankInput, type RankResult } from '../../../libs/domain/src/scoring/rank';

export * from '../../../libs/domain/src/scoring/rank';

export function rank(input: RankInput): RankResult {
  const result = ruleInForce(input);
  return { ...result, ranking: [...result.ranking].reverse().map((candidate, i) => ({ ...candidate, position: i + 1 })) };
}
