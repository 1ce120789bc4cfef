import type { DataSource, EntityManager } from 'typeorm';
import { canonicalJson } from '@concentra/domain';

/** Tables that are not projections: the store itself, its bookkeeping and TypeORM's. */
const NOT_PROJECTIONS = new Set(['events', 'projection_checkpoints', 'migrations', 'typeorm_metadata',
  // The evaluation service's working state (answers per item while a run goes on): written by its
  // activities, never by a projection, and recorded in the events only as the run's result.
  'evaluation_runs', 'evaluation_item_results']);

/**
 * What the notification relay writes while it delivers: its own table, and the outbox columns
 * that say a row was picked up. A rebuild never touches them, and the relay keeps writing them
 * while a snapshot is taken, so they are no part of what a projection must reproduce.
 */
const DELIVERY_STATE: Record<string, readonly string[] | 'table'> = {
  notification_deliveries: 'table',
  notification_outbox: ['addressed_at'],
};

export type ProjectionSnapshot = Record<string, string[]>;

/**
 * Every read table in the public schema, each row as canonical JSON, rows sorted: two snapshots
 * are equal exactly when the tables hold the same rows. Tables added later by other libs are
 * included without anyone listing them here.
 */
export async function snapshotProjectionTables(db: DataSource | EntityManager, options: { exclude?: string[] } = {}): Promise<ProjectionSnapshot> {
  const exclude = new Set([...NOT_PROJECTIONS, ...Object.keys(DELIVERY_STATE).filter((t) => DELIVERY_STATE[t] === 'table'), ...(options.exclude ?? [])]);
  const tables = ((await db.query(
    `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`,
  )) as { table_name: string }[])
    .map((r) => r.table_name)
    .filter((t) => !exclude.has(t));
  const snapshot: ProjectionSnapshot = {};
  for (const table of tables) {
    const rows = (await db.query(`SELECT * FROM "${table.replace(/"/g, '""')}"`)) as Record<string, unknown>[];
    const skipped = DELIVERY_STATE[table];
    const columns = Array.isArray(skipped) ? new Set(skipped) : new Set<string>();
    snapshot[table] = rows.map((row) => canonicalJson(plain(row, columns))).sort();
  }
  return snapshot;
}

/** A difference per table: rows only before, rows only after. */
export function diffSnapshots(before: ProjectionSnapshot, after: ProjectionSnapshot): { table: string; onlyBefore: string[]; onlyAfter: string[] }[] {
  const tables = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return tables.flatMap((table) => {
    const a = before[table] ?? [];
    const b = after[table] ?? [];
    const onlyBefore = a.filter((row) => !b.includes(row));
    const onlyAfter = b.filter((row) => !a.includes(row));
    return onlyBefore.length || onlyAfter.length || a.length !== b.length ? [{ table, onlyBefore, onlyAfter }] : [];
  });
}

function plain(row: Record<string, unknown>, skipped: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).filter(([k]) => !skipped.has(k)).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? v.toString() : v]));
}
