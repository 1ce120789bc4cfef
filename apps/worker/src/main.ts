import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Runtime } from '@temporalio/worker';
import { Logger } from 'nestjs-pino';
import { loadEnvironment } from '@concentra/config';
import { bootLogger, createRootLogger, loggingModule, startTracing, TracingModule } from '@concentra/observability';
import { sdkMetricsUrl, workerRuntimeOptions } from './runtime';
import { startWorkerHttp } from './worker-http';
import { WorkerModule } from './worker.module';

@Module({})
class WorkerRoot {}

async function main(): Promise<void> {
  const env = loadEnvironment(); // fails fast, listing every bad variable, before anything starts
  const logger = createRootLogger({ service: 'worker', level: env.LOG_LEVEL });
  startTracing(env, 'worker'); // before the worker is made: its interceptors and sinks depend on it
  // Before anything Temporal is created: the SDK's, core's, workflows' and activities' logs go to pino.
  Runtime.install(workerRuntimeOptions(env, logger));
  const app = await NestFactory.createApplicationContext(
    { module: WorkerRoot, imports: [loggingModule(logger), TracingModule, WorkerModule] },
    { logger: bootLogger(logger), abortOnError: false },
  );
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  const http = await startWorkerHttp(app, {
    host: env.WORKER_HTTP_HOST,
    port: env.WORKER_HTTP_PORT,
    sdkMetricsUrl: sdkMetricsUrl(env),
  });
  app.get(Logger).log(`worker metrics and health on http://${env.WORKER_HTTP_HOST}:${http.port} (/metrics, /health/ready)`, 'main');
}

// A boot failure prints its stack (an invalid environment's message lists every bad variable).
main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
