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
    extra: { max: 10 },
  });
}

export async function migrate(db: DataSource): Promise<string[]> {
  const ran = await db.runMigrations({ transaction: 'each' });
  return ran.map((m) => m.name);
}
