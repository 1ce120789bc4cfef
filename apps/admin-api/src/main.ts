import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { loadEnvironment } from '@concentra/config';
import { startTracing } from '@concentra/observability';
import { createAdminApi } from './bootstrap';

async function main(): Promise<void> {
  const env = loadEnvironment(); // fails fast, listing every bad variable, before anything starts
  startTracing(env, 'admin-api'); // before the Temporal client is made: its interceptors depend on it
  const app = await createAdminApi();
  await app.listen(env.API_PORT, env.API_HOST);
  app.get(Logger).log(`admin-api listening on http://${env.API_HOST}:${env.API_PORT} (docs at /docs)`, 'main');
}

// A boot failure prints its stack (an invalid environment's message lists every bad variable).
main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
