import { makeTelemetryFilterString, type RuntimeOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Environment } from '@concentra/config';
import { temporalLevel, temporalLogger } from '@concentra/observability';

/**
 * The Temporal SDK runtime of the worker process, installed before anything Temporal is created:
 * the SDK's, core's, workflows' and activities' logs go to pino, and the SDK's own metrics (polls,
 * task latencies, slots: `temporal_*`) to a Prometheus exporter on loopback that the worker's
 * /metrics appends.
 */
export function workerRuntimeOptions(env: Pick<Environment, 'LOG_LEVEL' | 'WORKER_SDK_METRICS_PORT'>, logger: Logger): RuntimeOptions {
  return {
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: temporalLevel(env.LOG_LEVEL) }) },
      metrics: { prometheus: { bindAddress: `127.0.0.1:${env.WORKER_SDK_METRICS_PORT}` } },
    },
  };
}

export const sdkMetricsUrl = (env: Pick<Environment, 'WORKER_SDK_METRICS_PORT'>) => `http://127.0.0.1:${env.WORKER_SDK_METRICS_PORT}/metrics`;
