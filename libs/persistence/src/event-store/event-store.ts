import type { DataSource, EntityManager } from 'typeorm';
import { eventHash, sameContent } from './hash-chain';
import { guardedInsertQuery, headFromJson, pgPool, readHeadQuery, storedFromJson, type EventJson, type PgQueryable, type StreamHead } from './append-statements';
import { classifyDatabaseError } from './database-errors';
import { EventStoreError, UnstorableRecordError, type NewEvent, type StoredEvent } from './types';
import { applyEvents, streamRuns, type Projection } from '../projections/projection';

export interface AppendResult {
  /** The events as stored, including those that were already there (idempotent retries). */
  events: StoredEvent[];
  appended: number;
  streamPosition: number;
}


/**
 * Append-only PostgreSQL event store with stream and global positions and a SHA-256 chain per
 * stream. Projections run inline, in the same transaction as the append, with their checkpoint.
 */
export class EventStore {
  /** The last head this process wrote or read, per stream: a guess the append statement checks, never trusted. */
  private readonly heads = new Map<string, StreamHead>();

  constructor(
    private readonly db: DataSource,
    private readonly projections: readonly Projection[] = [],
  ) {}

  /**
   * Appends in one transaction. An event id already stored with the same content is skipped (a
   * retry); with different content it is refused loudly. `expectedPosition` guards writers that
   * decided on a stream they read earlier.
   *
   * Round trips: one statement (chain check, the events, the checkpoints) when this process knows
   * the stream's head and no projection takes the events; BEGIN, that statement, the projections'
   * writes and COMMIT when one does; one read of the head before either when the head is unknown
   * or another writer moved it. It was BEGIN, a lock, a read, a write, the projections, COMMIT.
   */
  async append(streamId: string, events: NewEvent[], options: { expectedPosition?: number } = {}): Promise<AppendResult> {
    if (!streamId) throw new EventStoreError('invalid_event', 'a stream id is required');
    const batch = dedupeBatch(streamId, events.map(normalizeEvent));
    const known = new Map<string, StoredEvent>();
    let head = this.heads.get(streamId) ?? null;
    if (head && options.expectedPosition !== undefined && head.position !== options.expectedPosition) head = null;
    for (let attempt = 1; ; attempt++) {
      if (!head) {
        const read = await this.readHead(streamId, batch.filter((e) => !known.has(e.eventId)).map((e) => e.eventId));
        head = read.head;
        for (const e of read.existing) known.set(e.eventId, e);
      }
      const { result, fresh } = splitKnown(streamId, batch, known);
      if (fresh.length > 0 && options.expectedPosition !== undefined && options.expectedPosition !== head.position) {
        throw new EventStoreError('wrong_expected_position', `stream ${streamId} is at ${head.position}, the writer expected ${options.expectedPosition}`);
      }
      if (fresh.length === 0) return { events: result, appended: 0, streamPosition: head.position };
      const records = chainRecords(streamId, head, fresh);
      let outcome: WriteOutcome;
      try {
        outcome = await this.write(streamId, head, records, attempt > 1);
      } catch (error) {
        // Another writer took the position or one of the ids first (and committed): look again.
        if (attempt < MAX_ATTEMPTS && (isUniqueViolation(error, 'events_stream_id_stream_position_key') || isUniqueViolation(error, 'events_event_id_key'))) {
          head = null;
          continue;
        }
        throw await this.unstorable(streamId, records, error);
      }
      if (outcome.stored) {
        const last = outcome.stored[outcome.stored.length - 1];
        this.remember(streamId, { position: last.streamPosition, hash: last.hash, recordedAt: last.recordedAt });
        return { events: [...result, ...outcome.stored], appended: outcome.stored.length, streamPosition: last.streamPosition };
      }
      // The head moved or some ids are stored already: decide again on what the statement saw.
      head = outcome.head;
      this.remember(streamId, head);
      for (const e of outcome.existing) known.set(e.eventId, e);
      // Transient (not an EventStoreError): the caller's retry, later, may find the stream quieter.
      if (attempt >= MAX_ATTEMPTS) throw new Error(`stream ${streamId}: ${MAX_ATTEMPTS} attempts in a row lost the race for the next position`);
    }
  }

  private async readHead(streamId: string, eventIds: string[]): Promise<{ head: StreamHead; existing: StoredEvent[] }> {
    const { rows } = await this.pool().query(readHeadQuery(streamId, eventIds));
    const [row] = rows as Array<{ head: Parameters<typeof headFromJson>[0]; existing: EventJson[] | null }>;
    return { head: headFromJson(row.head), existing: (row.existing ?? []).map(storedFromJson) };
  }

  /**
   * One guarded statement alone when no projection takes the events; else in a transaction with the
   * projections. A writer that lost a race once queues behind the stream's lock (`queued`), so
   * many writers to one stream take turns instead of retrying in step.
   */
  private async write(streamId: string, head: StreamHead, records: Array<Omit<StoredEvent, 'globalPosition'>>, queued: boolean): Promise<WriteOutcome> {
    const names = this.projections.map((p) => p.name);
    const applying = this.projections.filter((p) => records.some((r) => p.appliesTo?.(r) ?? true));
    if (applying.length === 0 && !queued) return outcomeOf(await this.pool().query(guardedInsertQuery(streamId, head, records, names)), records);
    const rollback = new Rollback();
    return this.db
      .transaction(async (tx) => {
        if (queued) await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [streamId]);
        const outcome = outcomeOf(await connectionOf(tx).query(guardedInsertQuery(streamId, head, records, names)), records);
        if (!outcome.stored) {
          rollback.outcome = outcome;
          throw rollback;
        }
        // Each projection takes the append's events at once (one stream's, in order): see applyAll.
        for (const projection of applying) await applyEvents(projection, tx, outcome.stored);
        return outcome;
      })
      .catch((error: unknown) => {
        if (error === rollback && rollback.outcome) return rollback.outcome;
        throw error;
      });
  }

  private remember(streamId: string, head: StreamHead): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > HEADS_KEPT) this.heads.delete(this.heads.keys().next().value!);
  }

  private pool(): PgQueryable {
    return pgPool(this.db);
  }

  /**
   * A record PostgreSQL refuses as data (class 22, 54000) becomes an UnstorableRecordError naming
   * the event being written; everything else (connection loss, deadlocks) propagates as it is.
   */
  private async unstorable(streamId: string, records: Array<Omit<StoredEvent, 'globalPosition'>>, error: unknown): Promise<unknown> {
    const cls = classifyDatabaseError(error);
    if (cls.kind !== 'unstorable') return error;
    // Which event PostgreSQL refused, so the failure can name it (rare: find it one by one).
    const eventId = records.length === 1 ? records[0].eventId : await this.firstUnstorable(records);
    return new UnstorableRecordError(streamId, eventId, cls.code, cls.message);
  }

  /**
   * After a batch was refused as data: each event inserted alone, in a transaction that is always
   * rolled back, until one is refused the same way. Undefined when none is (the batch as a whole was).
   */
  private async firstUnstorable(records: Array<Omit<StoredEvent, 'globalPosition'>>): Promise<string | undefined> {
    const rollback = new Rollback();
    for (const record of records) {
      const refused = await this.db
        .transaction(async (probe) => {
          await probe.query(
            `INSERT INTO events (stream_id, stream_position, event_id, type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
            [record.streamId, record.streamPosition, record.eventId, record.type, record.schemaVersion, record.data, record.metadata, record.occurredAt, record.recordedAt, record.prevHash, record.hash],
          );
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
    )) as EventJson[];
    return rows.map(storedFromJson);
  }

  async readStreamsWithPrefix(prefix: string): Promise<StoredEvent[]> {
    const rows = (await this.db.query(
      `SELECT * FROM events WHERE stream_id LIKE $1 ORDER BY global_position`,
      [`${prefix.replace(/[\\%_]/g, '\\$&')}%`],
    )) as EventJson[];
    return rows.map(storedFromJson);
  }

  /** Every event in global order, in pages, for rebuilds and audits. */
  async *readAll(batch = 500): AsyncGenerator<StoredEvent> {
    let after = 0;
    for (;;) {
      const rows = (await this.db.query(
        'SELECT * FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2',
        [after, batch],
      )) as EventJson[];
      for (const row of rows) yield storedFromJson(row);
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
      // Runs of one stream's consecutive events, the way appends hand them over.
      for await (const run of streamRuns(this.readAll())) {
        for (const projection of rebuilt) await applyEvents(projection, tx, run);
        count += run.length;
        last = run[run.length - 1].globalPosition;
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

/** Attempts of one append before it gives up (each lost to another writer of the stream). */
const MAX_ATTEMPTS = 20;
/** Stream heads kept per process (the oldest forgotten first). */
const HEADS_KEPT = 10_000;

/** What the guarded statement did: stored the events, or found the head moved or ids stored. */
type WriteOutcome = { stored: StoredEvent[]; head?: undefined; existing?: undefined } | { stored: null; head: StreamHead; existing: StoredEvent[] };

/** Thrown inside a transaction to roll it back on purpose, carrying what the caller needs. */
class Rollback extends Error {
  outcome?: WriteOutcome;
}

function outcomeOf(answer: { rows: unknown[] }, records: Array<Omit<StoredEvent, 'globalPosition'>>): WriteOutcome {
  const [row] = answer.rows as Array<{ ok: boolean; inserted: Record<string, number | string> | null; head: Parameters<typeof headFromJson>[0]; existing: EventJson[] | null }>;
  if (row.ok && row.inserted) return { stored: records.map((r) => ({ ...r, globalPosition: Number(row.inserted![r.eventId]) })) };
  return { stored: null, head: headFromJson(row.head), existing: (row.existing ?? []).map(storedFromJson) };
}

/** The node-postgres connection a TypeORM transaction runs on. */
function connectionOf(tx: EntityManager): PgQueryable {
  return (tx.queryRunner as unknown as { databaseConnection: PgQueryable }).databaseConnection;
}

/** The batch's events already stored (the same content, in this stream, or a loud conflict), and the fresh ones. */
function splitKnown(streamId: string, batch: NewEvent[], known: Map<string, StoredEvent>): { result: StoredEvent[]; fresh: NewEvent[] } {
  const result: StoredEvent[] = [];
  const fresh: NewEvent[] = [];
  for (const event of batch) {
    const stored = known.get(event.eventId);
    if (!stored) {
      fresh.push(event);
      continue;
    }
    if (stored.streamId !== streamId || !sameContent(stored, { ...event, schemaVersion: event.schemaVersion ?? 1 })) {
      throw new EventStoreError('event_id_conflict', `event ${event.eventId} is already stored in ${stored.streamId} at ${stored.streamPosition} with different content`);
    }
    result.push(stored);
  }
  return { result, fresh };
}

/**
 * The fresh events as the next links of the chain after `head`. One recording time for the batch:
 * this process's clock, never before the head's (a stream's recording times do not go backwards).
 */
function chainRecords(streamId: string, head: StreamHead, fresh: NewEvent[]): Array<Omit<StoredEvent, 'globalPosition'>> {
  const recordedAt = new Date(Math.max(Date.now(), head.recordedAt ? Date.parse(head.recordedAt) : 0)).toISOString();
  let position = head.position;
  let prevHash = head.hash;
  return fresh.map((event) => {
    position += 1;
    const record = {
      streamId,
      streamPosition: position,
      eventId: event.eventId,
      type: event.type,
      schemaVersion: event.schemaVersion ?? 1,
      data: event.data,
      metadata: event.metadata,
      occurredAt: event.occurredAt,
      recordedAt,
      prevHash,
    };
    const hash = eventHash(record);
    prevHash = hash;
    return { ...record, hash };
  });
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string; driverError?: { code?: string; constraint?: string } };
  const code = e?.driverError?.code ?? e?.code;
  const name = e?.driverError?.constraint ?? e?.constraint;
  return code === '23505' && name === constraint;
}

