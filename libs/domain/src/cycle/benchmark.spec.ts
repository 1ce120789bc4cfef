import { benchmarkScore } from '../evaluation/benchmark-result';
import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import type { ProgramPolicy } from '../policy/schema';
import type { CycleCommand, MeasuredBenchmark } from './commands';
import { closingRanking } from './pipeline';
import { applicantOf, evaluator, playToEvaluation, pm, system, type Scenario } from './testing';

/** The default year, with its evaluation measured by the program: suite basic-reasoning feeds "benchmarks". */
function measuredPolicy(missingResult: 'score_zero' | 'exclude_team'): ProgramPolicy {
  return parsePolicy({
    ...defaultPolicyDocument,
    stages: defaultPolicyDocument.stages.map((s) =>
      s.kind === 'evaluation'
        ? { ...s, benchmark: { suite: 'basic-reasoning', criterion: 'benchmarks', reference: { model: 'reference-7b', accuracy: 0.8 }, fullPointsAt: 0.95, missingResult, provenanceGate: true } }
        : s,
    ),
    scoring: {
      ...defaultPolicyDocument.scoring,
      model: { ...defaultPolicyDocument.scoring.model, gates: [...defaultPolicyDocument.scoring.model.gates, { id: 'originality', name: 'Originality (provenance)', failWhen: 'any_fail' }] },
    },
  });
}

const OWN = 'b'.repeat(64);
const PUBLIC = 'c'.repeat(64);
const endpointModel = (id: string, sha: string): CycleCommand => ({
  type: 'SubmitModel',
  actor: applicantOf(`org-${id}`),
  data: { applicationId: id, round: 1, endpoint: { baseUrl: `https://models.${id}.example/v1`, model: `${id}-7b`, credentialRef: id }, artifacts: [{ name: 'model.safetensors', sha256: sha }] },
});
const humanScores = (id: string, e: number, experts: number): CycleCommand => ({
  type: 'SubmitEvaluationScores',
  actor: evaluator(e),
  data: { scoreSetId: `eval-${id}-${e}`, applicationId: id, round: 1, scores: { experts, users: experts }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
});
const measurement = (id: string, right: number, provenance: 'pass' | 'fail'): MeasuredBenchmark => ({
  applicationId: id,
  round: 1,
  runId: `run-${id}`,
  suite: 'basic-reasoning',
  suiteVersion: 'd'.repeat(64),
  seed: 'concentra-basic-reasoning-2027',
  outcomes: Array.from({ length: 40 }, (_, i) => [`item-${i}`, i < right ? 1 : i === 39 ? -1 : 0, i === 39 ? null : 'e'.repeat(64)]),
  itemErrors: [{ itemId: 'item-39', error: 'no answer within 30000 ms (after 3 of 3 tries)' }],
  provenance: { verdict: provenance, registryVersion: 'f'.repeat(64), reason: provenance === 'fail' ? 'model.safetensors is demo-public/open-7b/model.safetensors' : 'none matches', evidence: [] },
});

/** Three teams: a1 measured 32/40 (own model), a2 measured 36/40 but a renamed public model, a3 never measured. */
function round(missingResult: 'score_zero' | 'exclude_team'): Scenario {
  const sc = playToEvaluation({ policy: measuredPolicy(missingResult), applicants: 3 });
  sc.run(endpointModel('a1', OWN));
  sc.run(endpointModel('a2', PUBLIC));
  sc.run(endpointModel('a3', OWN));
  for (const e of [1, 2]) {
    sc.run(humanScores('a1', e, 7));
    sc.run(humanScores('a2', e, 8));
    sc.run(humanScores('a3', e, 9));
  }
  sc.run({ type: 'RecordBenchmarkResult', actor: system, data: measurement('a1', 32, 'pass') });
  sc.run({ type: 'RecordBenchmarkResult', actor: system, data: measurement('a2', 36, 'fail') });
  return sc;
}

describe('an evaluation round the program measures itself', () => {
  it('records the measurement with the domain’s score, interval and the policy’s points', () => {
    const sc = round('score_zero');
    const e = sc.last('BenchmarkResultRecorded');
    expect(e.data).toMatchObject({ applicationId: 'a2', criterion: 'benchmarks', items: 40, correct: 36, errors: 1, accuracy: 0.9, points: 100 });
    const first = sc.events.find((x) => x.type === 'BenchmarkResultRecorded' && x.data.applicationId === 'a1');
    // 32/40 = 0.8 is 100 % of the reference, above the 95 % that earns full points.
    expect(first?.data).toMatchObject({ accuracy: 0.8, points: 100 });
    // Re-derived from the recorded outcomes and seed alone: the same score and interval.
    const again = benchmarkScore(e.data.outcomes.map(([itemId, o]) => ({ itemId, status: o < 0 ? 'failed' : 'answered', correct: o === 1 })), e.data.seed, 'a2');
    expect({ accuracy: again.accuracy, interval: again.interval }).toEqual({ accuracy: e.data.accuracy, interval: e.data.interval });
  });

  it('feeds the benchmarks criterion, fails the provenance gate, and scores a team without a result zero', () => {
    const sc = round('score_zero');
    sc.fire('evaluation_submission_due');
    sc.fire('evaluation_scoring_due');
    const proposed = sc.last('NarrowingProposed').data;
    const benchmarks = proposed.result.criteria.indexOf('benchmarks');
    const byId = Object.fromEntries(proposed.result.ranking.map((r) => [r.candidateId, r]));
    expect(byId.a1.perCriterion[benchmarks]).toBe(1);
    expect(byId.a3.perCriterion[benchmarks]).toBe(0);
    expect(proposed.result.removedByGate.map((g) => [g.candidateId, g.failedGates])).toEqual([['a2', ['originality']]]);
    // a1: 40 + 35 * 0.7 + 25 * 0.7 = 82; a3: 0 + 60 * 0.9 = 54.
    expect(proposed.result.ranking.map((r) => [r.candidateId, r.total])).toEqual([['a1', 82], ['a3', 54]]);
    expect(proposed.proposed).toEqual(['a1', 'a3']);
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    expect(sc.last('TeamsNarrowed').data).toMatchObject({ kept: ['a1', 'a3'], dropped: ['a2'] });
  });

  it('leaves a team without a result out of the ranking when the policy says exclude_team', () => {
    const sc = round('exclude_team');
    sc.fire('evaluation_submission_due');
    sc.fire('evaluation_scoring_due');
    const proposed = sc.last('NarrowingProposed').data;
    expect(proposed.result.ranking.map((r) => r.candidateId)).toEqual(['a1']);
    expect(proposed.proposed).toEqual(['a1']);
    expect(proposed.result.removedByGate.map((g) => g.candidateId)).toEqual(['a2']);
  });

  it('re-derives the recorded ranking from the events alone', () => {
    const sc = round('score_zero');
    sc.fire('evaluation_submission_due');
    const before = sc.running;
    const derived = closingRanking(before, before.rounds[before.currentRound!]).record;
    sc.fire('evaluation_scoring_due');
    expect(sc.last('NarrowingProposed').data.result).toEqual(derived);
  });

  it('refuses what the measured round cannot take, each with its field', () => {
    const sc = playToEvaluation({ policy: measuredPolicy('score_zero'), applicants: 3 });
    const noEndpoint: CycleCommand = { type: 'SubmitModel', actor: applicantOf('org-a1'), data: { applicationId: 'a1', round: 1, artifact: { uri: 's3://m', sha256: OWN } } };
    expect(sc.refuse(noEndpoint, 'validation_failed').field).toBe('endpoint');
    const secret = endpointModel('a1', OWN);
    if (secret.type !== 'SubmitModel') throw new Error('unreachable');
    secret.data.endpoint!.credentialRef = 'sk-proj-9f8A7b6C5d4E3f2G1h0iJkLmNoPqRsTuVwXyZ';
    expect(sc.refuse(secret, 'validation_failed').field).toBe('endpoint.credentialRef');
    const inUrl = endpointModel('a1', OWN);
    if (inUrl.type !== 'SubmitModel') throw new Error('unreachable');
    inUrl.data.endpoint!.baseUrl = 'https://user:pass@models.example/v1';
    expect(sc.refuse(inUrl, 'validation_failed').field).toBe('endpoint.baseUrl');
    const noArtifacts = endpointModel('a1', OWN);
    if (noArtifacts.type !== 'SubmitModel') throw new Error('unreachable');
    delete noArtifacts.data.artifacts;
    expect(sc.refuse(noArtifacts, 'validation_failed').field).toBe('artifacts');

    sc.run(endpointModel('a1', OWN));
    const scored: CycleCommand = { ...humanScores('a1', 1, 7) };
    if (scored.type !== 'SubmitEvaluationScores') throw new Error('unreachable');
    scored.data.scores = { ...scored.data.scores, benchmarks: 90 };
    expect(sc.refuse(scored, 'validation_failed').field).toBe('scores.benchmarks');
    expect(sc.refuse({ type: 'RecordBenchmarkResult', actor: applicantOf('org-a1'), data: measurement('a1', 40, 'pass') }, 'forbidden')).toBeDefined();
    expect(sc.refuse({ type: 'RecordBenchmarkResult', actor: system, data: measurement('a2', 40, 'pass') }, 'invalid_state').field).toBe('applicationId');
    sc.run({ type: 'RecordBenchmarkResult', actor: system, data: measurement('a1', 30, 'pass') });
    expect(sc.refuse({ type: 'RecordBenchmarkResult', actor: system, data: measurement('a1', 40, 'pass') }, 'duplicate').field).toBe('applicationId');
  });
});
