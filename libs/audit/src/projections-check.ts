import type { DataSource, EntityManager } from 'typeorm';
import { PROJECTIONS, applyEvents, diffSnapshots, streamRuns, snapshotProjectionTables, type Projection, type StoredEvent } from '@concentra/persistence';

export interface ProjectionCheck {
  ok: boolean;
  events: number;
  /** Tables whose rows differ between the live projections and a rebuild from zero. */
  differences: ReturnType<typeof diffSnapshots>;
}

/**
 * Rebuilds every projection from zero inside a transaction that is then rolled back, and compares
 * the result with the live tables row by row. Nothing changes; writers to the read tables wait
 * while it runs.
 */
export async function checkProjections(db: DataSource, projections: readonly Projection[] = PROJECTIONS): Promise<ProjectionCheck> {
  const runner = db.createQueryRunner();
  await runner.connect();
  try {
    await runner.startTransaction('REPEATABLE READ');
    const tx = runner.manager;
    const live = await snapshotProjectionTables(tx);
    const rebuilt = projections.filter((p) => p.rebuilds !== false);
    for (const projection of [...rebuilt].reverse()) await projection.reset(tx);
    let events = 0;
    // The way the store's rebuild and appends apply them: runs of one stream's events at once.
    for await (const run of streamRuns(readAll(tx))) {
      for (const projection of rebuilt) await applyEvents(projection, tx, run);
      events += run.length;
    }
    const differences = diffSnapshots(live, await snapshotProjectionTables(tx));
    return { ok: differences.length === 0, events, differences };
  } finally {
    if (runner.isTransactionActive) await runner.rollbackTransaction();
    await runner.release();
  }
}

/** Every event in global order, read through the transaction's own snapshot. */
async function* readAll(tx: EntityManager, batch = 500): AsyncGenerator<StoredEvent> {
  let after = 0;
  for (;;) {
    const rows = (await tx.query('SELECT * FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2', [after, batch])) as Record<string, unknown>[];
    for (const row of rows) {
      yield {
        globalPosition: Number(row.global_position),
        streamId: row.stream_id as string,
        streamPosition: row.stream_position as number,
        eventId: row.event_id as string,
        type: row.type as string,
        schemaVersion: row.schema_version as number,
        data: row.data as Record<string, unknown>,
        metadata: row.metadata as StoredEvent['metadata'],
        occurredAt: (row.occurred_at as Date).toISOString(),
        recordedAt: (row.recorded_at as Date).toISOString(),
        prevHash: row.prev_hash as string | null,
        hash: row.hash as string,
      };
    }
    if (rows.length < batch) return;
    after = Number(rows[rows.length - 1].global_position);
  }
}
