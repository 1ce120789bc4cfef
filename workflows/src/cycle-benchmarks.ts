/**
 * The cycle measures the models itself: for an evaluation round whose policy has a `benchmark`,
 * every endpoint a team submits is run against the suite by the evaluation service (an activity
 * with heartbeats, resumable from its per-item results), checked for provenance when the policy
 * gates on it, and the measurement recorded as `RecordBenchmarkResult`. When the round closes, runs
 * still going are cancelled: the policy's `missingResult` rule takes their place.
 */
import { ActivityCancellationType, CancellationScope, isCancellation, log, patched, proxyActivities } from '@temporalio/workflow';
import type { BenchmarkPolicy, CycleCommand, CycleEvent, CycleState, ModelEndpointRef, Artifact, RoundRecord } from '@concentra/domain';
import type { EvaluationActivityTypes } from '@concentra/evaluation';

/** Only cycles that record a run after this release start runs: histories recorded before it replay unchanged. */
export const BENCHMARK_RUNS_PATCH = 'evaluation-benchmark-runs';

/**
 * A run asks its items one by one and heartbeats after each: a worker that dies is noticed within
 * the heartbeat timeout, and the retry resumes where the stored answers end. Retried until the
 * round closes (which cancels it), except for what no retry mends.
 */
const evaluation = proxyActivities<EvaluationActivityTypes>({
  startToCloseTimeout: '24 hours',
  heartbeatTimeout: '2 minutes',
  cancellationType: ActivityCancellationType.TRY_CANCEL,
  retry: { initialInterval: '10 seconds', maximumInterval: '10 minutes', backoffCoefficient: 2, nonRetryableErrorTypes: ['CredentialMissing', 'RunMismatch', 'DomainError'] },
});

type Apply = (command: CycleCommand, now?: string, stands?: (s: CycleState) => boolean) => Promise<CycleEvent[]>;

export class CycleBenchmarks {
  private readonly runs = new Map<string, CancellationScope>();
  /** Runs that ended without a result (a missing credential, a suite not the pinned one): not started again in this run of the workflow. */
  private readonly gaveUp = new Set<string>();

  constructor(
    private readonly cycleId: string,
    private readonly state: () => CycleState,
    private readonly apply: Apply,
    private readonly system: { role: 'system'; subject: string },
  ) {}

  /** Starts a run for each submitted endpoint the open round has not measured; cancels the runs of a round that closed. */
  reconcile(): void {
    const s = this.state();
    const open = s.stage === 'not_started' ? null : measuredRound(s);
    for (const [key, scope] of this.runs) {
      if (!open || !key.startsWith(`${open.round.roundKey}/`)) {
        scope.cancel();
        this.runs.delete(key);
      }
    }
    if (!open) return;
    const { round, benchmark } = open;
    for (const [team, model] of Object.entries(round.models ?? {})) {
      const key = `${round.roundKey}/${team}`;
      if (this.runs.has(key) || this.gaveUp.has(key) || round.measured?.[team]) continue;
      if (!patched(BENCHMARK_RUNS_PATCH)) return;
      this.start(key, round, benchmark, team, model);
    }
  }

  private start(key: string, round: RoundRecord, b: BenchmarkPolicy, team: string, model: { endpoint: ModelEndpointRef; artifacts?: Artifact[] }): void {
    const scope = new CancellationScope();
    this.runs.set(key, scope);
    const stillOpen = (s: CycleState) => s.stage !== 'not_started' && !!s.rounds[round.roundKey] && !s.rounds[round.roundKey].closed && !s.rounds[round.roundKey].measured?.[team];
    scope
      .run(async () => {
        const provenance = b.provenanceGate ? await evaluation.checkProvenance({ applicationId: team, artifacts: model.artifacts ?? [] }) : undefined;
        const result = await evaluation.runEvaluation({
          runId: `${this.cycleId}:${round.roundKey}:${team}`,
          cycleId: this.cycleId,
          round: round.round,
          applicationId: team,
          suite: b.suite,
          suiteVersion: b.suiteVersion,
          endpoint: model.endpoint,
          concurrency: b.concurrency,
          maxAttempts: b.maxAttempts,
          responses: b.responses,
        });
        return { provenance, result };
      })
      .then(async ({ provenance, result }) => {
        this.runs.delete(key);
        const { runId, suite, suiteVersion, seed, outcomes, itemErrors } = result;
        await this.apply(
          { type: 'RecordBenchmarkResult', actor: this.system, data: { applicationId: team, round: round.round, runId, suite, suiteVersion, seed, outcomes, itemErrors, ...(provenance ? { provenance } : {}) } },
          undefined,
          stillOpen,
        );
      })
      .catch((error: unknown) => {
        this.runs.delete(key);
        if (isCancellation(error)) return;
        // The round closes on its deadline without this result, under the policy's missingResult rule.
        this.gaveUp.add(key);
        log.warn('benchmark run ended without a result', { team, roundKey: round.roundKey, error: error instanceof Error ? error.message : String(error) });
      });
  }
}

function measuredRound(s: Exclude<CycleState, { stage: 'not_started' }>): { round: RoundRecord; benchmark: BenchmarkPolicy } | null {
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  if (!round || round.kind !== 'evaluation' || round.closed) return null;
  const stage = s.policy.stages[round.stageIndex];
  return stage?.kind === 'evaluation' && stage.benchmark ? { round, benchmark: stage.benchmark } : null;
}
