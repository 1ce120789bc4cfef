/**
 * The program measures the models itself (policy `benchmark` on an evaluation stage): what a model
 * submission must carry for that, and recording a measurement as the points of the policy's
 * criterion. People still score every other criterion; the measured one is not theirs to give.
 */
import type { EvaluationStage, ScoringScheme } from '../policy/schema';
import { benchmarkPoints, benchmarkScore } from '../evaluation/benchmark-result';
import { fail } from '../shared/errors';
import type { Artifact, MeasuredBenchmark, ModelEndpointRef, RecordBenchmarkResult, SubmitEvaluationScores, SubmitModel } from './commands';
import type { CycleEvent } from './events';
import { requireApplication, requireRole, requireRunning, requireText } from './guards';
import type { CycleState, RoundRecord, RunningCycle } from './state';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** A name the workers resolve (EVAL_CREDENTIAL_<NAME>), short and plain so a pasted secret is refused. */
const CREDENTIAL_REF = /^[a-z0-9][a-z0-9_-]{0,39}$/;

function requireSha(value: unknown, field: string): string {
  if (typeof value !== 'string' || !SHA256_HEX.test(value)) fail('validation_failed', 'must be a lower-case hex SHA-256', field);
  return value;
}

function endpointOf(e: ModelEndpointRef): ModelEndpointRef {
  const baseUrl = requireText(e.baseUrl, 'endpoint.baseUrl');
  let url: URL | null = null;
  try {
    url = new URL(baseUrl);
  } catch {
    fail('validation_failed', 'must be an http(s) URL', 'endpoint.baseUrl');
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) fail('validation_failed', 'must be an http(s) URL', 'endpoint.baseUrl');
  if (url.username || url.password || url.search) fail('validation_failed', 'must carry no credentials or query: name a credential reference instead', 'endpoint.baseUrl');
  const model = requireText(e.model, 'endpoint.model');
  if (e.credentialRef !== undefined && (typeof e.credentialRef !== 'string' || !CREDENTIAL_REF.test(e.credentialRef))) {
    fail('validation_failed', 'must be a reference name (lower-case letters, digits, "-" or "_", at most 40), never the secret itself', 'endpoint.credentialRef');
  }
  return { baseUrl, model, ...(e.credentialRef ? { credentialRef: e.credentialRef } : {}) };
}

/** The model as ModelSubmitted records it: an artifact, an endpoint with artifacts, or both; what the round's policy needs. */
export function modelOf(stage: EvaluationStage, d: SubmitModel['data']): Pick<SubmitModel['data'], 'artifact' | 'endpoint' | 'artifacts'> {
  const out: Pick<SubmitModel['data'], 'artifact' | 'endpoint' | 'artifacts'> = {};
  if (d.artifact !== undefined || (!d.endpoint && !stage.benchmark)) {
    const a = d.artifact;
    requireText(a?.uri, 'artifact.uri');
    out.artifact = { uri: a!.uri, sha256: requireSha(a!.sha256, 'artifact.sha256') };
  }
  if (d.endpoint !== undefined) out.endpoint = endpointOf(d.endpoint);
  else if (stage.benchmark) fail('validation_failed', 'this round measures the models: an endpoint { baseUrl, model, credentialRef? } is required', 'endpoint');
  if (d.artifacts !== undefined) {
    if (!Array.isArray(d.artifacts) || d.artifacts.length > 32) fail('validation_failed', 'must be a list of at most 32 artifacts', 'artifacts');
    out.artifacts = d.artifacts.map((a: Artifact, i) => ({ name: requireText(a?.name, `artifacts.${i}.name`), sha256: requireSha(a?.sha256, `artifacts.${i}.sha256`) }));
  }
  if (stage.benchmark?.provenanceGate && !out.artifacts?.length) fail('validation_failed', 'this round checks provenance: the artifacts (name, sha256) are required', 'artifacts');
  return out;
}

/** Evaluators score every criterion but the measured one; a score given for it is refused. */
export function withoutMeasured<D extends SubmitEvaluationScores['data']>(scheme: ScoringScheme, stage: EvaluationStage, d: D): D {
  const measured = stage.benchmark?.criterion;
  if (!measured) return d;
  if (d.scores && measured in d.scores) fail('validation_failed', `measured by the program's benchmark, not scored by people`, `scores.${measured}`);
  const criterion = scheme.criteria.find((c) => c.id === measured)!;
  // The sheet's checks want every criterion: the measured one stands at the scale's minimum here, and the ranking puts the measurement in its place.
  return { ...d, scores: { ...(d.scores ?? {}), [measured]: criterion.scale.min } };
}

export function recordBenchmarkResult(state: CycleState, cmd: RecordBenchmarkResult, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const s = requireRunning(state);
  const d = cmd.data;
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  if (!round || round.kind !== 'evaluation' || round.round !== d.round || round.closed) fail('invalid_state', `evaluation round ${String(d.round)} is not open`, 'round');
  const stage = s.policy.stages[round.stageIndex] as EvaluationStage;
  if (!stage.benchmark) fail('invalid_state', 'this round has no benchmark', 'round');
  const app = requireApplication(s, d.applicationId);
  if (!round.candidates.includes(app.applicationId) || !round.submissions[app.applicationId]) fail('invalid_state', 'this team has not submitted a model in this round', 'applicationId');
  if (round.measured?.[app.applicationId]) fail('duplicate', 'this team is already measured in this round', 'applicationId');
  const b = stage.benchmark;
  if (b.suite !== d.suite || (b.suiteVersion !== undefined && b.suiteVersion !== d.suiteVersion)) fail('validation_failed', `the round asks suite ${b.suite}${b.suiteVersion ? ` version ${b.suiteVersion}` : ''}`, 'suite');
  if (b.provenanceGate && !d.provenance) fail('validation_failed', 'this round gates on provenance: its verdict is required', 'provenance');
  return [{ type: 'BenchmarkResultRecorded', data: { ...d, roundKey: round.roundKey, ...measurementOf(s, round, d), recordedAt: now } }];
}

/**
 * The score, interval and points of a measurement, from its recorded outcomes and seed alone: what
 * the decider records and what the auditors' re-derivation (libs/audit) recomputes.
 */
export function measurementOf(s: RunningCycle, round: RoundRecord, d: Pick<MeasuredBenchmark, 'outcomes' | 'seed' | 'applicationId'>) {
  const b = (s.policy.stages[round.stageIndex] as EvaluationStage).benchmark!;
  const score = benchmarkScore(d.outcomes.map(([itemId, o]) => ({ itemId, status: o < 0 ? 'failed' : 'answered', correct: o === 1 })), d.seed, d.applicationId);
  const criterion = s.policy.scoring[round.scoring].criteria.find((c) => c.id === b.criterion)!;
  return { criterion: b.criterion, ...score, points: benchmarkPoints(b, criterion, score.accuracy) };
}
