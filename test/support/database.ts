import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { createDataSource, migrate } from '@concentra/persistence';
import { createDatabaseIfMissing, dropDatabase, withDatabase } from '@concentra/tools/postgres';

export interface TestDatabase {
  url: string;
  db: DataSource;
  drop(): Promise<void>;
}

/** A fresh, migrated database of its own for one test file; dropped afterwards. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = process.env.TEST_POSTGRES_ADMIN_URL;
  if (!admin) throw new Error('TEST_POSTGRES_ADMIN_URL is not set: run the tests through jest (test/global-setup.ts)');
  const name = `concentra_test_${randomBytes(6).toString('hex')}`;
  await createDatabaseIfMissing(admin, name);
  const url = withDatabase(admin, name);
  const db = await createDataSource(url, { applicationName: 'concentra-test' }).initialize();
  await migrate(db);
  return {
    url,
    db,
    drop: async () => {
      if (db.isInitialized) await db.destroy();
      await dropDatabase(admin, name);
    },
  };
}
