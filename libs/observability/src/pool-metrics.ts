import type { DataSource } from 'typeorm';
import { scrapedGauge } from './metrics';

/**
 * What the database says when scraped: projection lag (events stored but not yet projected, per
 * projection), the notification outbox backlog, and the GPU pool's capacity and use by type.
 */
export function registerDatabaseGauges(db: DataSource): void {
  scrapedGauge('concentra_projection_lag_events', 'Events stored past each projection checkpoint', ['projection'], async () => {
    const rows = (await db.query(
      `SELECT p.projection, GREATEST((SELECT COALESCE(max(global_position), 0) FROM events) - p.position, 0) AS lag FROM projection_checkpoints p`,
    )) as { projection: string; lag: string }[];
    return rows.map((r) => ({ labels: { projection: r.projection }, value: Number(r.lag) }));
  });
  scrapedGauge('concentra_outbox_backlog', 'Notifications waiting for delivery', [], async () => {
    // Not yet addressed to anyone, plus addressed and still being tried (dead letters are counted apart).
    const [row] = (await db.query(
      `SELECT (SELECT count(*) FROM notification_outbox WHERE addressed_at IS NULL) + (SELECT count(*) FROM notification_deliveries WHERE status = 'pending') AS n`,
    )) as { n: string }[];
    return [{ value: Number(row.n) }];
  });
  scrapedGauge('concentra_gpu_pool_capacity', 'GPUs registered in the pool (capacity not yet ended), by type', ['gpu_type'], async () => {
    const rows = (await db.query(
      `SELECT gpu_type, sum(count) AS n FROM gpu_capacity WHERE available_until IS NULL OR available_until > now() GROUP BY gpu_type`,
    )) as { gpu_type: string; n: string }[];
    return rows.map((r) => ({ labels: { gpu_type: r.gpu_type }, value: Number(r.n) }));
  });
  scrapedGauge('concentra_gpu_pool_in_use', 'GPUs held by live allocations, by type', ['gpu_type'], async () => {
    const rows = (await db.query(
      `SELECT gpu_type, sum(count) AS n FROM gpu_allocations WHERE status IN ('reserved', 'active') AND gpu_type IS NOT NULL GROUP BY gpu_type`,
    )) as { gpu_type: string; n: string }[];
    return rows.map((r) => ({ labels: { gpu_type: r.gpu_type }, value: Number(r.n) }));
  });
}
