import type { DataSource, EntityManager } from 'typeorm';
import { eventHash, sameContent } from './hash-chain';
import { classifyDatabaseError } from './database-errors';
import { EventStoreError, UnstorableRecordError, type NewEvent, type StoredEvent } from './types';
import type { Projection } from '../projections/projection';

export interface AppendResult {
  /** The events as stored, including those that were already there (idempotent retries). */
  events: StoredEvent[];
  appended: number;
  streamPosition: number;
}

interface EventRow {
  global_position: string;
  stream_id: string;
  stream_position: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: StoredEvent['metadata'];
  occurred_at: Date;
  recorded_at: Date;
  prev_hash: string | null;
  hash: string;
}

/**
 * Append-only PostgreSQL event store with stream and global positions and a SHA-256 chain per
 * stream. Projections run inline, in the same transaction as the append, with their checkpoint.
 */
export class EventStore {
  constructor(
    private readonly db: DataSource,
    private readonly projections: readonly Projection[] = [],
  ) {}

  /**
   * Appends in one transaction. An event id already stored with the same content is skipped (a
   * retry); with different content it is refused loudly. `expectedPosition` guards writers that
   * decided on a stream they read earlier.
   */
  async append(streamId: string, events: NewEvent[], options: { expectedPosition?: number } = {}): Promise<AppendResult> {
    const batch = dedupeBatch(streamId, events.map(normalizeEvent));
    try {
      return await this.appendOnce(streamId, batch, options);
    } catch (error) {
      // Two writers raced to store one event id in different streams: the loser looks again and
      // is either a harmless retry (same content) or a loud conflict.
      if (!isUniqueViolation(error, 'events_event_id_key')) throw error;
      return this.appendOnce(streamId, batch, options);
    }
  }

  /**
   * A record PostgreSQL refuses as data (class 22, 54000) becomes an UnstorableRecordError naming
   * the event being written; everything else (connection loss, deadlocks) propagates as it is.
   */
  private async appendOnce(streamId: string, events: NewEvent[], options: { expectedPosition?: number }): Promise<AppendResult> {
    if (!streamId) throw new EventStoreError('invalid_event', 'a stream id is required');
    const at: { eventId?: string } = {};
    try {
      return await this.appendInTransaction(streamId, events, options, at);
    } catch (error) {
      const cls = classifyDatabaseError(error);
      if (cls.kind === 'unstorable') throw new UnstorableRecordError(streamId, at.eventId, cls.code, cls.message);
      throw error;
    }
  }

  private async appendInTransaction(streamId: string, events: NewEvent[], options: { expectedPosition?: number }, at: { eventId?: string }): Promise<AppendResult> {
    return this.db.transaction(async (tx) => {
      // Writers to one stream queue up here; the chain has exactly one next link.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [streamId]);
      const head = await this.head(tx, streamId);
      let position = head.position;
      let prevHash = head.hash;
      const fresh = [];
      const result: StoredEvent[] = [];
      for (const event of events) {
        at.eventId = event.eventId;
        const existing = await this.byEventId(tx, event.eventId);
        if (existing) {
          const candidate = { ...event, schemaVersion: event.schemaVersion ?? 1 };
          if (existing.streamId !== streamId || !sameContent(existing, candidate)) {
            throw new EventStoreError(
              'event_id_conflict',
              `event ${event.eventId} is already stored in ${existing.streamId} at ${existing.streamPosition} with different content`,
            );
          }
          result.push(existing);
          continue;
        }
        fresh.push(event);
      }
      if (fresh.length > 0 && options.expectedPosition !== undefined && options.expectedPosition !== position) {
        throw new EventStoreError(
          'wrong_expected_position',
          `stream ${streamId} is at ${position}, the writer expected ${options.expectedPosition}`,
        );
      }
      // now() is the transaction's start: one recording time for the whole batch, read once.
      const [{ now }] = fresh.length > 0 ? ((await tx.query('SELECT now() AS now')) as [{ now: Date }]) : [{ now: new Date(0) }];
      for (const event of fresh) {
        at.eventId = event.eventId;
        position += 1;
        const record = {
          streamId,
          streamPosition: position,
          eventId: event.eventId,
          type: event.type,
          schemaVersion: event.schemaVersion ?? 1,
          data: event.data,
          metadata: event.metadata,
          occurredAt: new Date(event.occurredAt).toISOString(),
          recordedAt: now.toISOString(),
          prevHash,
        };
        const hash = eventHash(record);
        const [row] = (await tx.query(
          `INSERT INTO events (stream_id, stream_position, event_id, type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING global_position`,
          [streamId, position, record.eventId, record.type, record.schemaVersion, record.data, record.metadata, record.occurredAt, record.recordedAt, prevHash, hash],
        )) as [{ global_position: string }];
        const stored: StoredEvent = { ...record, hash, globalPosition: Number(row.global_position) };
        for (const projection of this.projections) await projection.apply(tx, stored);
        result.push(stored);
        prevHash = hash;
      }
      at.eventId = undefined;
      if (fresh.length > 0) await this.checkpoint(tx, result[result.length - 1].globalPosition);
      return { events: result, appended: fresh.length, streamPosition: position };
    });
  }

  async readStream(streamId: string, options: { until?: string } = {}): Promise<StoredEvent[]> {
    const rows = (await this.db.query(
      `SELECT * FROM events WHERE stream_id = $1 AND ($2::timestamptz IS NULL OR occurred_at <= $2)
       ORDER BY stream_position`,
      [streamId, options.until ?? null],
    )) as EventRow[];
    return rows.map(toStored);
  }

  async readStreamsWithPrefix(prefix: string): Promise<StoredEvent[]> {
    const rows = (await this.db.query(
      `SELECT * FROM events WHERE stream_id LIKE $1 ORDER BY global_position`,
      [`${prefix.replace(/[\\%_]/g, '\\$&')}%`],
    )) as EventRow[];
    return rows.map(toStored);
  }

  /** Every event in global order, in pages, for rebuilds and audits. */
  async *readAll(batch = 500): AsyncGenerator<StoredEvent> {
    let after = 0;
    for (;;) {
      const rows = (await this.db.query(
        'SELECT * FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2',
        [after, batch],
      )) as EventRow[];
      for (const row of rows) yield toStored(row);
      if (rows.length < batch) return;
      after = Number(rows[rows.length - 1].global_position);
    }
  }

  /** Drops every projection's rows and replays all events into them, in one transaction. */
  async rebuildProjections(): Promise<number> {
    return this.db.transaction(async (tx) => {
      const rebuilt = this.projections.filter((p) => p.rebuilds !== false);
      for (const projection of [...rebuilt].reverse()) await projection.reset(tx);
      let count = 0;
      let last = 0;
      for await (const event of this.readAll()) {
        for (const projection of rebuilt) await projection.apply(tx, event);
        count += 1;
        last = event.globalPosition;
      }
      await this.checkpoint(tx, last);
      return count;
    });
  }

  private async checkpoint(tx: EntityManager, position: number): Promise<void> {
    for (const projection of this.projections) {
      await tx.query(
        `INSERT INTO projection_checkpoints (projection, position, updated_at) VALUES ($1, $2, now())
         ON CONFLICT (projection) DO UPDATE SET position = GREATEST(projection_checkpoints.position, $2), updated_at = now()`,
        [projection.name, position],
      );
    }
  }

  private async head(tx: EntityManager, streamId: string): Promise<{ position: number; hash: string | null }> {
    const [row] = (await tx.query(
      'SELECT stream_position, hash FROM events WHERE stream_id = $1 ORDER BY stream_position DESC LIMIT 1',
      [streamId],
    )) as { stream_position: number; hash: string }[];
    return row ? { position: row.stream_position, hash: row.hash } : { position: 0, hash: null };
  }

  private async byEventId(tx: EntityManager, eventId: string): Promise<StoredEvent | undefined> {
    const [row] = (await tx.query('SELECT * FROM events WHERE event_id = $1', [eventId])) as EventRow[];
    return row ? toStored(row) : undefined;
  }
}

/**
 * What the store keeps is what JSON can say: the event is passed through JSON once, so the hash
 * computed now is the hash an auditor recomputes from the stored jsonb (a Date, an undefined
 * field or a -0 would otherwise hash differently before and after storage).
 */
function normalizeEvent(event: NewEvent): NewEvent {
  if (!event || typeof event.eventId !== 'string' || event.eventId === '') throw new EventStoreError('invalid_event', 'every event needs an event id');
  if (typeof event.type !== 'string' || event.type === '') throw new EventStoreError('invalid_event', `event ${event.eventId} has no type`);
  const occurred = new Date(event.occurredAt);
  if (Number.isNaN(occurred.getTime())) throw new EventStoreError('invalid_event', `event ${event.eventId} has no valid occurredAt`);
  return {
    ...event,
    data: JSON.parse(JSON.stringify(event.data ?? {})) as NewEvent['data'],
    metadata: JSON.parse(JSON.stringify(event.metadata ?? {})) as NewEvent['metadata'],
    occurredAt: occurred.toISOString(),
  };
}

/** One batch naming an event id twice: the same event twice is kept once; two different ones are refused. */
function dedupeBatch(streamId: string, events: NewEvent[]): NewEvent[] {
  const seen = new Map<string, NewEvent>();
  for (const event of events) {
    const first = seen.get(event.eventId);
    if (!first) {
      seen.set(event.eventId, event);
      continue;
    }
    const probe = { ...first, schemaVersion: first.schemaVersion ?? 1, streamId } as StoredEvent;
    if (!sameContent(probe, { ...event, schemaVersion: event.schemaVersion ?? 1 })) {
      throw new EventStoreError('event_id_conflict', `event ${event.eventId} appears twice in one batch with different content`);
    }
  }
  return [...seen.values()];
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.driverError?.code ?? e?.code;
  const name = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && name === constraint;
}

function toStored(row: EventRow): StoredEvent {
  return {
    globalPosition: Number(row.global_position),
    streamId: row.stream_id,
    streamPosition: row.stream_position,
    eventId: row.event_id,
    type: row.type,
    schemaVersion: row.schema_version,
    data: row.data,
    metadata: row.metadata,
    occurredAt: row.occurred_at.toISOString(),
    recordedAt: row.recorded_at.toISOString(),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
