import type { DataSource, EntityManager } from 'typeorm';
import type { EventStore, NewEvent } from '@concentra/persistence';
import type { Row } from './gpu-ledger.rows';

/**
 * The ledger's event outbox: every state change writes its domain events here in the same
 * transaction, and they reach the event store right after the commit, and again on any retry until
 * they are in (the event ids make the append idempotent).
 */

/** Writes one domain event to the outbox in the ledger transaction (appended to the event store after the commit). */
export async function outbox(tx: EntityManager, streamId: string, eventId: string, type: string, data: Record<string, unknown>, metadata: Record<string, unknown>, at: Date): Promise<void> {
  await tx.query(
    `INSERT INTO gpu_event_outbox (event_id, stream_id, type, data, metadata, occurred_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`,
    [eventId, streamId, type, JSON.parse(JSON.stringify(data)), metadata, at],
  );
}

/** Appends the stream's pending outbox events to the event store (idempotent by event id). */
export async function flushOutbox(db: DataSource, events: EventStore, streamId: string): Promise<void> {
  const rows = (await db.query('SELECT * FROM gpu_event_outbox WHERE stream_id = $1 AND appended_at IS NULL ORDER BY seq', [streamId])) as Row[];
  if (rows.length === 0) return;
  const pending: NewEvent[] = rows.map((r) => ({
    eventId: r.event_id as string,
    type: r.type as string,
    data: r.data as Record<string, unknown>,
    metadata: r.metadata as NewEvent['metadata'],
    occurredAt: (r.occurred_at as Date).toISOString(),
  }));
  await events.append(streamId, pending);
  await db.query('UPDATE gpu_event_outbox SET appended_at = now() WHERE seq = ANY($1)', [rows.map((r) => r.seq)]);
}
