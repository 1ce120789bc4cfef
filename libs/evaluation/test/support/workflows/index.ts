/**
 * The smallest workflow that runs a benchmark run as the cycle does (libs/evaluation's activity,
 * heartbeats, retries, cancellation), on an activity task queue of its own so the test decides which
 * worker process serves it. Fault tests on the dev server give it short timeouts (seconds).
 */
import { ActivityCancellationType, CancellationScope, isCancellation, proxyActivities } from '@temporalio/workflow';
import type { EvaluationActivityTypes } from '../../../src/evaluation.activities';
import type { BenchmarkRunResult, RunEvaluationInput } from '../../../src/evaluation-run';

export interface EvaluateOnceOptions {
  activityTaskQueue: string;
  heartbeatTimeout: string;
  retryInitialInterval: string;
  /** Cancel the run after this long (a round's deadline passing while the endpoint is still asked). */
  deadline?: string;
}

export type EvaluateOnceOutcome = { kind: 'result'; result: BenchmarkRunResult } | { kind: 'cancelled_at_deadline' };

export async function evaluateOnce(input: RunEvaluationInput, options: EvaluateOnceOptions): Promise<EvaluateOnceOutcome> {
  const { runEvaluation } = proxyActivities<EvaluationActivityTypes>({
    taskQueue: options.activityTaskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: options.heartbeatTimeout,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: options.retryInitialInterval, backoffCoefficient: 1, nonRetryableErrorTypes: ['CredentialMissing', 'RunMismatch', 'DomainError'] },
  });
  if (!options.deadline) return { kind: 'result', result: await runEvaluation(input) };
  const scope = new CancellationScope();
  const run = scope.run(() => runEvaluation(input));
  try {
    return await CancellationScope.withTimeout(options.deadline, async () => ({ kind: 'result' as const, result: await run }));
  } catch (error) {
    if (isCancellation(error)) return { kind: 'cancelled_at_deadline' };
    throw error;
  }
}
