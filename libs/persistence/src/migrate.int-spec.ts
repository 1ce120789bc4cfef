import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '@concentra/tools/postgres';
import { createDataSource, migrate, MIGRATION_LOCK_KEY } from './data-source';
import { migrations } from './migrations';

/**
 * Migrations run under a PostgreSQL advisory lock: two processes booting together against a fresh
 * database (the API and a worker) do not race to create tables; one applies, the other finds nothing.
 */
describe('migrate under an advisory lock (PostgreSQL)', () => {
  const admin = process.env.TEST_POSTGRES_ADMIN_URL!;
  const name = `concentra_test_migrate_${randomBytes(5).toString('hex')}`;
  const url = withDatabase(admin, name);
  const sources: DataSource[] = [];
  const open = async (applicationName: string) => {
    const db = await createDataSource(url, { applicationName }).initialize();
    sources.push(db);
    return db;
  };
  const applied = async (db: DataSource) => (await db.query('SELECT name FROM migrations ORDER BY id')).map((r: { name: string }) => r.name);

  beforeEach(async () => {
    await dropDatabase(admin, name);
    await createDatabaseIfMissing(admin, name);
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((db) => db.destroy()));
  });
  afterAll(async () => {
    await dropDatabase(admin, name);
  });

  it('two concurrent migrate calls on a fresh database apply every migration exactly once', async () => {
    const [a, b] = await Promise.all([open('concentra-migrate-a'), open('concentra-migrate-b')]);
    const [ranA, ranB] = await Promise.all([migrate(a), migrate(b)]);
    const all = migrations.map((m) => m.name);
    expect([...ranA, ...ranB].sort()).toEqual([...all].sort());
    expect([ranA.length, ranB.length].sort((x, y) => x - y)).toEqual([0, all.length]);
    expect(await applied(a)).toEqual(all);
  });

  it('a migrate waits while another session holds the lock, then finds its work done or does it', async () => {
    const holder = new Client({ connectionString: url });
    await holder.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const db = await open('concentra-migrate-waiting');
      const running = migrate(db);
      // Bounded poll: the migrating session is seen waiting on the advisory lock.
      let waiting = false;
      for (let i = 0; i < 200 && !waiting; i++) {
        const rows = await holder.query(
          `SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.locktype = 'advisory' AND NOT l.granted AND a.application_name = 'concentra-migrate-waiting'`,
        );
        waiting = rows.rowCount === 1;
        if (!waiting) await new Promise((r) => setTimeout(r, 50));
      }
      expect(waiting).toBe(true);
      const tables = await holder.query(`SELECT to_regclass('public.migrations') AS t`);
      expect(tables.rows[0].t).toBeNull();
      await holder.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
      expect(await running).toHaveLength(migrations.length);
    } finally {
      await holder.end();
    }
  });
});
