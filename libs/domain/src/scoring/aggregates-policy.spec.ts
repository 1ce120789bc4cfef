import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { publishedAggregates, publishesRanking } from './aggregates';

/** Published aggregates defined by policy (issue 15, item 7). */
const publishing = (extra: Record<string, unknown>) =>
  parsePolicy({ ...defaultPolicyDocument, confidentiality: { publish: { applicationCount: true, awardeeNames: true, topScore: true, meanScore: true, medianScore: true, ...extra } } }).confidentiality;

// Two ranked teams, one removed by a gate (it scored highest), one excluded for missing scores.
const result = { ranking: [{ total: 90 }, { total: 70.55 }], removedByGate: [{ candidateId: 'a0', total: 95, positionBeforeGates: 1, failedGates: ['safety'], failScorers: [] }], excluded: [{ candidateId: 'a9' }] };

describe('published aggregates defined by policy', () => {
  it('over the ranked teams by default, as before: the gate-removed team counts as an application but not in the scores', () => {
    expect(publishedAggregates(result, publishing({}))).toEqual({ applicationCount: 4, topScore: 90, meanScore: 80.275, medianScore: 80.275 });
  });

  it('over every evaluated team, those a gate removed included', () => {
    expect(publishedAggregates(result, publishing({ over: 'evaluated' }))).toEqual({ applicationCount: 4, topScore: 95, meanScore: 85.183333, medianScore: 90 });
  });

  it('rounded to the policy\'s decimals, half away from zero', () => {
    expect(publishedAggregates(result, publishing({ decimals: 1 }))).toEqual({ applicationCount: 4, topScore: 90, meanScore: 80.3, medianScore: 80.3 });
    expect(publishedAggregates({ ...result, ranking: [{ total: 70.55 }] }, publishing({ decimals: 1 })).topScore).toBe(70.6);
    expect(publishedAggregates(result, publishing({ decimals: 0, over: 'evaluated' }))).toMatchObject({ meanScore: 85, topScore: 95 });
  });

  it('only the rounds the policy names publish', () => {
    const onlyReview = publishing({ rounds: ['review'] });
    expect(['review', 'narrowing_proposal', 'refill_proposal'].map((k) => publishesRanking(onlyReview, k))).toEqual([true, false, false]);
    expect(['review', 'narrowing_proposal', 'refill_proposal'].map((k) => publishesRanking(publishing({}), k))).toEqual([true, true, true]);
    expect(publishesRanking(publishing({ rounds: ['evaluation', 'refill'] }), 'narrowing_proposal')).toBe(true);
  });

  it('a policy written before these fields parses as before (nothing filled in, its hash stands)', () => {
    expect(Object.keys(parsePolicy(defaultPolicyDocument).confidentiality.publish).sort()).toEqual(['applicationCount', 'awardeeNames', 'meanScore', 'medianScore', 'topScore']);
  });

  it('refuses decimals outside 0..6 and unknown rounds', () => {
    expect(() => publishing({ decimals: 7 })).toThrow(/confidentiality.publish.decimals/);
    expect(() => publishing({ rounds: ['selection'] })).toThrow(/confidentiality.publish.rounds/);
  });
});
