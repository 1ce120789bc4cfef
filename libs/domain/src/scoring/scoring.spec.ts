import { defaultPolicy } from '../policy/defaults';
import type { ScoringScheme } from '../policy/schema';
import { canSeeAwardeeNames, canSeeTeamScores, publishedAggregates } from './aggregates';
import { createPrng, drawOrder } from './lottery';
import { rank } from './rank';
import type { ScoreSheet } from './weighted';

const model = defaultPolicy.scoring.model;
const sheet = (scoreId: string, candidateId: string, scorerId: string, benchmarks: number, experts: number, users: number, safety: 'pass' | 'fail' = 'pass'): ScoreSheet => ({
  scoreId,
  candidateId,
  scorerId,
  values: { benchmarks, experts, users },
  verdicts: { safety },
});

describe('weighted scores and ranking', () => {
  it('normalises each criterion scale and weights 40/35/25 onto 0..100', () => {
    const r = rank({ scheme: model, candidates: [{ id: 'x' }, { id: 'y' }], sheets: [sheet('1', 'x', 'e1', 100, 10, 10), sheet('2', 'y', 'e1', 50, 0, 10), sheet('3', 'x', 'e2', 100, 10, 10), sheet('4', 'y', 'e2', 50, 0, 10)], seed: 's' });
    expect(r.ranking.map((c) => [c.candidateId, c.total])).toEqual([
      ['x', 100],
      ['y', 45],
    ]);
    expect(r.ranking[1].perCriterion).toEqual({ benchmarks: 0.5, experts: 0, users: 1 });
    expect(r.scoreIds).toEqual(['1', '2', '3', '4']);
    expect(r.lottery).toBeUndefined();
  });

  it('reports on 0..1 when the policy says so', () => {
    const scheme: ScoringScheme = { ...model, totalScale: 1 };
    expect(rank({ scheme, candidates: [{ id: 'x' }], sheets: [sheet('1', 'x', 'e', 50, 5, 5)], seed: 's' }).ranking[0].total).toBe(0.5);
  });

  it('z-scores per reviewer remove a harsh reviewer’s bias', () => {
    const scheme: ScoringScheme = { ...model, reviewerNormalization: 'z_score', minimumScoresPerApplication: 1 };
    // The harsh reviewer scores everyone low; x is only reviewed by them, y only by the generous one.
    const sheets = [sheet('1', 'x', 'harsh', 40, 4, 4), sheet('2', 'z', 'harsh', 20, 2, 2), sheet('3', 'y', 'kind', 80, 8, 8), sheet('4', 'w', 'kind', 90, 9, 9)];
    const plain = rank({ scheme: model, candidates: ['x', 'y', 'z', 'w'].map((id) => ({ id })), sheets, seed: 's' });
    const z = rank({ scheme, candidates: ['x', 'y', 'z', 'w'].map((id) => ({ id })), sheets, seed: 's' });
    expect(plain.ranking.map((c) => c.candidateId)).toEqual(['w', 'y', 'x', 'z']);
    // x is the harsh reviewer's best, as y is the kind reviewer's second: after z-scores x equals w.
    expect(z.ranking.find((c) => c.candidateId === 'x')!.total).toBe(z.ranking.find((c) => c.candidateId === 'w')!.total);
  });

  it('applies tie-break rules in order, then a seeded lottery whose draw is returned', () => {
    const scheme: ScoringScheme = { ...model, minimumScoresPerApplication: 1, tieBreak: [{ by: 'criterion', criterion: 'benchmarks' }, { by: 'earliest_submission' }] };
    const sheets = [sheet('1', 'a', 'e', 60, 6, 6), sheet('2', 'b', 'e', 90, 4, 4), sheet('3', 'c', 'e', 60, 6, 6), sheet('4', 'd', 'e', 60, 6, 6), sheet('5', 'e', 'e', 60, 6, 6)];
    const candidates = [
      { id: 'a', submittedAt: '2027-01-02T00:00:00Z' },
      { id: 'b' },
      { id: 'c', submittedAt: '2027-01-01T00:00:00Z' },
      { id: 'd', submittedAt: '2027-01-03T00:00:00Z' },
      { id: 'e', submittedAt: '2027-01-03T00:00:00Z' },
    ];
    const r = rank({ scheme, candidates, sheets, seed: 'seed-1' });
    // b wins on benchmarks (same total 60, but 90 on benchmarks); c is earliest; a next; d and e are drawn.
    const order = r.ranking.map((c) => c.candidateId);
    expect(order.slice(0, 3)).toEqual(['b', 'c', 'a']);
    expect(r.lottery!.seed).toBe('seed-1');
    expect(r.lottery!.draw).toEqual([{ among: ['d', 'e'], order: order.slice(3) }]);
    expect(r.ranking[0].tieBrokenBy).toBe('criterion:benchmarks');
    expect(r.ranking[1].tieBrokenBy).toBe('earliest_submission');
    expect(r.ranking[3].tieBrokenBy).toBe('lottery');
    // Same inputs in any order: same result.
    const again = rank({ scheme, candidates: [...candidates].reverse(), sheets: [...sheets].reverse(), seed: 'seed-1' });
    expect(again).toEqual(r);
  });

  it('applies gates after ranking and records where the removed team stood', () => {
    const r = rank({ scheme: model, candidates: [{ id: 'x' }, { id: 'y' }], sheets: [sheet('1', 'x', 'e1', 100, 10, 10, 'fail'), sheet('2', 'x', 'e2', 100, 10, 10), sheet('3', 'y', 'e1', 10, 1, 1), sheet('4', 'y', 'e2', 10, 1, 1)], seed: 's' });
    expect(r.ranking.map((c) => [c.candidateId, c.position, c.positionBeforeGates])).toEqual([['y', 1, 2]]);
    expect(r.removedByGate).toEqual([{ candidateId: 'x', positionBeforeGates: 1, total: 100, failedGates: ['safety'], failScoreIds: ['1'] }]);
    const majority: ScoringScheme = { ...model, gates: [{ id: 'safety', name: 'Safety', failWhen: 'majority_fail' }] };
    expect(rank({ scheme: majority, candidates: [{ id: 'x' }], sheets: [sheet('1', 'x', 'e1', 1, 1, 1, 'fail'), sheet('2', 'x', 'e2', 1, 1, 1)], seed: 's' }).removedByGate).toEqual([]);
  });

  it('counts scores against the minimum and can exclude those below it', () => {
    const r = rank({ scheme: model, candidates: [{ id: 'x' }, { id: 'y' }], sheets: [sheet('1', 'x', 'e1', 1, 1, 1), sheet('2', 'y', 'e1', 1, 1, 1), sheet('3', 'y', 'e2', 1, 1, 1)], seed: 's', excludeBelowMinimum: true });
    expect(r.excluded).toEqual([{ candidateId: 'x', reason: 'below_minimum_scores', scoreCount: 1, required: 2 }]);
    expect(r.ranking.map((c) => c.candidateId)).toEqual(['y']);
  });

  it('refuses scores outside the criterion scale', () => {
    expect(() => rank({ scheme: model, candidates: [{ id: 'x' }], sheets: [sheet('1', 'x', 'e', 101, 1, 1)], seed: 's' })).toThrow(/between 0 and 100/);
  });

  it('publishes only the aggregates the policy allows', () => {
    const r = rank({ scheme: model, candidates: [{ id: 'x' }, { id: 'y' }], sheets: [sheet('1', 'x', 'e', 100, 10, 10), sheet('2', 'y', 'e', 50, 5, 5)], seed: 's' });
    expect(publishedAggregates(r, defaultPolicy.confidentiality)).toEqual({ applicationCount: 2, topScore: 100, meanScore: 75 });
  });

  it('shows per-team scores to program managers, auditors and admins only; awardee names as the policy publishes them', () => {
    expect(['admin', 'program_manager', 'auditor', 'applicant', 'reviewer', 'evaluator', 'public'].filter((role) => canSeeTeamScores(role))).toEqual(['admin', 'program_manager', 'auditor']);
    const unpublished = { publish: { ...defaultPolicy.confidentiality.publish, awardeeNames: false } };
    expect(canSeeAwardeeNames('applicant', defaultPolicy.confidentiality)).toBe(true);
    expect(canSeeAwardeeNames('applicant', unpublished)).toBe(false);
    expect(canSeeAwardeeNames('auditor', unpublished)).toBe(true);
  });
});

describe('the seeded lottery', () => {
  it('is deterministic per seed, independent of input order, and uniform enough', () => {
    expect(drawOrder(createPrng('x'), ['c', 'a', 'b'])).toEqual(drawOrder(createPrng('x'), ['a', 'b', 'c']));
    const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 600; i++) counts[drawOrder(createPrng(`seed-${i}`), ['a', 'b', 'c'])[0]]++;
    for (const n of Object.values(counts)) expect(n).toBeGreaterThan(150);
  });
});
