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

  /**
   * Round trips per append: BEGIN, the stream's lock, one read (head, the batch's ids already stored,
   * the recording time), one write (every fresh event and the projections' checkpoints), the
   * projections that apply, COMMIT. It was a read per event id, an INSERT per event and a
   * checkpoint per projection: 11 round trips for one event, now 5.
   */
  private async appendInTransaction(streamId: string, events: NewEvent[], options: { expectedPosition?: number }, at: { eventId?: string }): Promise<AppendResult> {
    return this.db.transaction(async (tx) => {
      // Writers to one stream queue up here; the chain has exactly one next link. Its own statement:
      // a statement reads with the snapshot it started with, before any wait for the lock.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [streamId]);
      const { head, existing, now } = await this.beforeAppend(tx, streamId, events.map((e) => e.eventId));
      let position = head.position;
      let prevHash = head.hash;
      const fresh: NewEvent[] = [];
      const result: StoredEvent[] = [];
      for (const event of events) {
        const stored = existing.get(event.eventId);
        if (stored) {
          const candidate = { ...event, schemaVersion: event.schemaVersion ?? 1 };
          if (stored.streamId !== streamId || !sameContent(stored, candidate)) {
            throw new EventStoreError(
              'event_id_conflict',
              `event ${event.eventId} is already stored in ${stored.streamId} at ${stored.streamPosition} with different content`,
            );
          }
          result.push(stored);
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
      if (fresh.length === 0) return { events: result, appended: 0, streamPosition: position };
      const records = fresh.map((event) => {
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
          // now() is the transaction's start: one recording time for the whole batch.
          recordedAt: now.toISOString(),
          prevHash,
        };
        const hash = eventHash(record);
        prevHash = hash;
        return { ...record, hash };
      });
      let positions: Map<string, number>;
      try {
        positions = await this.insert(tx, records);
      } catch (error) {
        // Which event PostgreSQL refused, so the failure can name it (rare: find it one by one).
        at.eventId = records.length === 1 ? records[0].eventId : await this.firstUnstorable(records, error);
        throw error;
      }
      for (const record of records) {
        const stored: StoredEvent = { ...record, globalPosition: positions.get(record.eventId)! };
        for (const projection of this.projections) await projection.apply(tx, stored);
        result.push(stored);
      }
      return { events: result, appended: fresh.length, streamPosition: position };
    });
  }

  /** The stream's head, the batch's event ids already stored (anywhere), and the transaction's time: one statement. */
  private async beforeAppend(tx: EntityManager, streamId: string, eventIds: string[]) {
    const [row] = (await tx.query(
      `SELECT now() AS now,
         (SELECT json_build_object('position', stream_position, 'hash', hash) FROM events WHERE stream_id = $1 ORDER BY stream_position DESC LIMIT 1) AS head,
         (SELECT coalesce(json_agg(e), '[]'::json) FROM events e WHERE e.event_id = ANY($2::text[])) AS existing`,
      [streamId, eventIds],
    )) as [{ now: Date; head: { position: number; hash: string } | null; existing: Array<Omit<EventRow, 'occurred_at' | 'recorded_at'> & { occurred_at: string; recorded_at: string }> }];
    const existing = new Map(row.existing.map((e) => [e.event_id, toStored({ ...e, occurred_at: new Date(e.occurred_at), recorded_at: new Date(e.recorded_at) })]));
    return { head: row.head ?? { position: 0, hash: null as string | null }, existing, now: row.now };
  }

  /** Every fresh event and every projection's checkpoint in one statement; the global position of each event. */
  private async insert(tx: EntityManager, records: Array<Omit<StoredEvent, 'globalPosition'>>): Promise<Map<string, number>> {
    const params: unknown[] = [this.projections.map((p) => p.name)];
    const values = records.map((r) => {
      const from = params.length;
      params.push(r.streamId, r.streamPosition, r.eventId, r.type, r.schemaVersion, r.data, r.metadata, r.occurredAt, r.recordedAt, r.prevHash, r.hash);
      return `(${Array.from({ length: 11 }, (_, i) => `$${from + i + 1}`).join(', ')})`;
    });
    const rows = (await tx.query(
      `WITH inserted AS (
         INSERT INTO events (stream_id, stream_position, event_id, type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
         VALUES ${values.join(', ')} RETURNING event_id, global_position),
       checkpoint AS (
         INSERT INTO projection_checkpoints (projection, position, updated_at)
         SELECT name, (SELECT max(global_position) FROM inserted), now() FROM unnest($1::text[]) AS name
         ON CONFLICT (projection) DO UPDATE SET position = GREATEST(projection_checkpoints.position, EXCLUDED.position), updated_at = now())
       SELECT event_id, global_position FROM inserted`,
      params,
    )) as Array<{ event_id: string; global_position: string }>;
    return new Map(rows.map((r) => [r.event_id, Number(r.global_position)]));
  }

  /**
   * After a batch was refused as data: each event inserted alone, in a transaction that is always
   * rolled back, until one is refused the same way. Undefined when none is (the batch as a whole was).
   */
  private async firstUnstorable(records: Array<Omit<StoredEvent, 'globalPosition'>>, original: unknown): Promise<string | undefined> {
    if (classifyDatabaseError(original).kind !== 'unstorable') return undefined;
    const rollback = new Error('rollback');
    for (const record of records) {
      const refused = await this.db
        .transaction(async (probe) => {
          await this.insert(probe, [record]);
          throw rollback;
        })
        .then(
          () => false,
          (error: unknown) => error !== rollback && classifyDatabaseError(error).kind === 'unstorable',
        );
      if (refused) return record.eventId;
    }
    return undefined;
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
