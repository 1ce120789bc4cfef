import 'reflect-metadata';
import { loadEnvironment } from '@concentra/config';
import { createAdminApi } from './bootstrap';

async function main(): Promise<void> {
  const env = loadEnvironment(); // fails fast, listing every bad variable, before anything starts
  const app = await createAdminApi();
  await app.listen(env.API_PORT, env.API_HOST);
  console.log(`admin-api listening on http://${env.API_HOST}:${env.API_PORT} (docs at /docs)`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
