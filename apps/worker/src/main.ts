import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { Logger } from 'nestjs-pino';
import { loadEnvironment } from '@concentra/config';
import { bootLogger, createRootLogger, loggingModule, startTracing, temporalLevel, temporalLogger, TracingModule } from '@concentra/observability';
import { startWorkerHttp } from './worker-http';
import { WorkerModule } from './worker.module';

@Module({})
class WorkerRoot {}

async function main(): Promise<void> {
  const env = loadEnvironment(); // fails fast, listing every bad variable, before anything starts
  const logger = createRootLogger({ service: 'worker', level: env.LOG_LEVEL });
  startTracing(env, 'worker'); // before the worker is made: its interceptors and sinks depend on it
  // Before anything Temporal is created: the SDK's, core's, workflows' and activities' logs go to pino.
  Runtime.install({
    logger: temporalLogger(logger),
    telemetryOptions: {
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: temporalLevel(env.LOG_LEVEL) }) },
      // The SDK's own metrics (polls, task latencies, slots): the worker's /metrics appends them.
      metrics: { prometheus: { bindAddress: `127.0.0.1:${env.WORKER_SDK_METRICS_PORT}` } },
    },
  });
  const app = await NestFactory.createApplicationContext(
    { module: WorkerRoot, imports: [loggingModule(logger), TracingModule, WorkerModule] },
    { logger: bootLogger(logger), abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const http = await startWorkerHttp(app, {
    host: env.WORKER_HTTP_HOST,
    port: env.WORKER_HTTP_PORT,
    sdkMetricsUrl: `http://127.0.0.1:${env.WORKER_SDK_METRICS_PORT}/metrics`,
  });
  app.get(Logger).log(`worker metrics and health on http://${env.WORKER_HTTP_HOST}:${http.port} (/metrics, /health/ready)`, 'main');
}

// A boot failure prints its stack (an invalid environment's message lists every bad variable).
main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
