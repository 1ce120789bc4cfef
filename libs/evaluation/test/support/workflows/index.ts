/**
 * The smallest workflow that runs a benchmark run as the cycle does (libs/evaluation's activity,
 * heartbeats, retries), on an activity task queue of its own so the test decides which worker
 * process serves it. Fault tests on the dev server give it short timeouts (seconds).
 */
import type { Duration } from '@temporalio/common';
import { proxyActivities } from '@temporalio/workflow';
import type { EvaluationActivityTypes } from '../../../src/evaluation.activities';
import type { BenchmarkRunResult, RunEvaluationInput } from '../../../src/evaluation-run';

export interface EvaluateOnceOptions {
  activityTaskQueue: string;
  heartbeatTimeout: Duration;
  retryInitialInterval: Duration;
}

export async function evaluateOnce(input: RunEvaluationInput, options: EvaluateOnceOptions): Promise<BenchmarkRunResult> {
  const { runEvaluation } = proxyActivities<EvaluationActivityTypes>({
    taskQueue: options.activityTaskQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: options.heartbeatTimeout,
    retry: { initialInterval: options.retryInitialInterval, backoffCoefficient: 1, nonRetryableErrorTypes: ['CredentialMissing', 'RunMismatch', 'DomainError'] },
  });
  return runEvaluation(input);
}
