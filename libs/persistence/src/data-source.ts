import { DataSource } from 'typeorm';
import { migrations } from './migrations';

/** The one TypeORM data source. Read tables are queried with SQL; they have no ORM write path. */
export function createDataSource(url: string, options: { applicationName?: string } = {}): DataSource {
  return new DataSource({
    type: 'postgres',
    url,
    migrations,
    migrationsTransactionMode: 'each',
    applicationName: options.applicationName ?? 'concentra',
    // JIT off: every query here is short, and PostgreSQL compiles any plan estimated above
    // jit_above_cost (100,000) — the GPU pool's series, whose generate_series the planner guesses at
    // 1,000 rows, crossed it and spent 370 ms compiling what runs in 2 ms.
    extra: { max: 10, options: '-c jit=off' },
  });
}

/**
 * Key of the session-level advisory lock held while migrating. Two processes booting together (the
 * API and a worker, or two workers) would otherwise both create the migrations table and both apply
 * a pending migration; the second waits here and then finds nothing left to run.
 */
export const MIGRATION_LOCK_KEY = 7_310_420_013;

export async function migrate(db: DataSource): Promise<string[]> {
  // The lock belongs to one connection's session, so it is taken on a runner held for the whole run;
  // TypeORM applies the migrations on other connections of the pool.
  const lock = db.createQueryRunner();
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const ran = await db.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await lock.release();
  }
}
