/**
 * Once per `jest` run: the real Temporal binaries (resolved or fetched, never the SDK's download),
 * a Temporal dev server for integration tests, and a PostgreSQL server to create test databases on.
 * What the tests need is handed over in environment variables, which Jest's workers inherit.
 */
import { ensurePostgres, reachable } from '@concentra/tools/postgres';
import { resolveTemporalBinary } from '@concentra/tools/temporal-binaries';
import { freePort, startDevServer } from '@concentra/tools/temporal-dev-server';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

declare global {
  var __concentraStops: (() => Promise<void>)[] | undefined;
}

export default async function globalSetup(): Promise<void> {
  const stops: (() => Promise<void>)[] = [];
  globalThis.__concentraStops = stops;
  const log = (line: string) => process.stderr.write(`[test setup] ${line}\n`);

  process.env.TEMPORAL_TEST_SERVER_PATH = await resolveTemporalBinary('test-server', log);
  process.env.TEMPORAL_CLI_PATH = await resolveTemporalBinary('cli', log);

  const port = await freePort();
  const devServer = await startDevServer({ port, logFile: join(tmpdir(), `concentra-test-temporal-${port}.log`), log });
  stops.push(() => devServer.stop());
  process.env.TEST_TEMPORAL_ADDRESS = devServer.address;

  // Slurm tests start the cluster on first use (test/support/slurm.ts); stop it afterwards if this
  // run is what started it, so `npm test` leaves no daemons behind.
  const slurm = join(__dirname, '..', 'tools', 'slurm', 'slurm.sh');
  if (spawnSync(slurm, ['status'], { stdio: 'ignore' }).status !== 0) {
    stops.push(async () => void spawnSync(slurm, ['stop'], { stdio: 'ignore', timeout: 120_000 }));
  }

  // Test databases are created and dropped on this server, one per test file.
  const admin = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  if (process.env.DATABASE_URL || (await reachable(admin))) {
    process.env.TEST_POSTGRES_ADMIN_URL = new URL('/postgres', admin).toString();
  } else {
    const embedded = await ensurePostgres('postgres', log);
    stops.push(() => embedded.stop());
    process.env.TEST_POSTGRES_ADMIN_URL = embedded.url;
  }
}
