import type { DataSource } from 'typeorm';
import { toCapacity, toView, type CapacityView } from './gpu-ledger';
import type { GpuAllocationView } from './gpu.activities';

export interface PoolPoint {
  at: string;
  site: string;
  gpuType: string;
  /** GPUs the pool has at this instant (owned that has arrived, leased still running). */
  capacity: number;
  /** GPUs held by reserved (not yet active) allocations whose window covers the instant. */
  reserved: number;
  /** GPUs held by active allocations whose window covers the instant (released ones count until their release). */
  allocated: number;
  /** GPU-hours used by the allocations on this site and type, as last metered at or before the instant. */
  gpuHoursUsed: number;
}

export interface PoolView {
  at: string;
  policy: { version: number; document: Record<string, unknown> };
  capacity: (CapacityView & { inUse: number })[];
  allocations: { byStatus: Record<string, number>; live: GpuAllocationView[] };
  series: PoolPoint[];
}

export interface PoolQuery {
  from: Date;
  to: Date;
  /** An interval PostgreSQL understands, e.g. '1 day', '7 days', '1 month'. */
  step: string;
}

/** The pool as operators and auditors read it: capacity, reservations and usage by type and site, over time. */
export class GpuPoolReads {
  constructor(private readonly db: DataSource) {}

  async pool(query: PoolQuery): Promise<PoolView> {
    const [policy] = (await this.db.query('SELECT version, document FROM gpu_pool_policies ORDER BY version DESC LIMIT 1')) as {
      version: number;
      document: Record<string, unknown>;
    }[];
    const capacityRows = (await this.db.query(
      `SELECT c.*, coalesce((SELECT sum(a.count) FROM gpu_allocations a
                             WHERE a.capacity_id = c.id AND a.status IN ('reserved', 'active') AND a.window_from <= now() AND a.window_to > now()), 0)::int AS in_use
       FROM gpu_capacity c ORDER BY c.site, c.gpu_type, c.id`,
    )) as Record<string, unknown>[];
    const byStatus = Object.fromEntries(
      ((await this.db.query('SELECT status, count(*)::int AS n FROM gpu_allocations GROUP BY status ORDER BY status')) as { status: string; n: number }[]).map((r) => [r.status, r.n]),
    );
    const live = ((await this.db.query(`SELECT * FROM gpu_allocations WHERE status IN ('reserved', 'active') ORDER BY window_from, id`)) as Record<string, unknown>[]).map(toView);
    const series = (await this.db.query(
      `WITH instants AS (SELECT generate_series($1::timestamptz, $2::timestamptz, $3::interval) AS at),
            keys AS (SELECT DISTINCT site, gpu_type FROM gpu_capacity)
       SELECT i.at, k.site, k.gpu_type,
         coalesce((SELECT sum(c.count) FROM gpu_capacity c WHERE c.site = k.site AND c.gpu_type = k.gpu_type
                   AND c.available_from <= i.at AND (c.available_until IS NULL OR c.available_until > i.at)), 0)::int AS capacity,
         coalesce((SELECT sum(a.count) FROM gpu_allocations a WHERE a.site = k.site AND a.gpu_type = k.gpu_type AND a.status = 'reserved'
                   AND a.window_from <= i.at AND a.window_to > i.at), 0)::int AS reserved,
         coalesce((SELECT sum(a.count) FROM gpu_allocations a WHERE a.site = k.site AND a.gpu_type = k.gpu_type
                   AND (a.status = 'active' OR (a.status = 'released' AND a.released_at > i.at))
                   AND a.window_from <= i.at AND a.window_to > i.at), 0)::int AS allocated,
         coalesce((SELECT sum(s.gpu_minutes_used) FROM (
                     SELECT DISTINCT ON (u.allocation_id) u.gpu_minutes_used FROM gpu_usage_samples u
                     WHERE u.site = k.site AND u.gpu_type = k.gpu_type AND u.measured_at <= i.at
                     ORDER BY u.allocation_id, u.measured_at DESC) s), 0) / 60.0 AS gpu_hours_used
       FROM instants i CROSS JOIN keys k ORDER BY i.at, k.site, k.gpu_type`,
      [query.from, query.to, query.step],
    )) as { at: Date; site: string; gpu_type: string; capacity: number; reserved: number; allocated: number; gpu_hours_used: string | number }[];
    return {
      at: new Date().toISOString(),
      policy: policy ?? { version: 0, document: {} },
      capacity: capacityRows.map((r) => ({ ...toCapacity(r), inUse: r.in_use as number })),
      allocations: { byStatus, live },
      series: series.map((r) => ({
        at: r.at.toISOString(),
        site: r.site,
        gpuType: r.gpu_type,
        capacity: r.capacity,
        reserved: r.reserved,
        allocated: r.allocated,
        gpuHoursUsed: Math.round(Number(r.gpu_hours_used) * 1e6) / 1e6,
      })),
    };
  }
}
