import { proxyActivities } from '@temporalio/workflow';
import type { GpuActivities } from '@concentra/gpu';

/**
 * The GPU pool's activities. Every call carries an idempotency key from the workflow's step, so
 * retries are safe. Provider calls take seconds: a short start-to-close bound means a worker that
 * dies mid-call is retried within a minute, not after minutes with GPUs reserved and nobody acting.
 */
export const gpu = proxyActivities<GpuActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes', backoffCoefficient: 2, nonRetryableErrorTypes: ['GpuIdempotencyConflict'] },
});
