import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { loadEnvironment } from '@concentra/config';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  loadEnvironment(); // fails fast, listing every bad variable, before anything starts
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn', 'log'], abortOnError: false });
  app.enableShutdownHooks();
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
