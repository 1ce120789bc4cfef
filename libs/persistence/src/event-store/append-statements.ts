import type { StoredEvent } from './types';

/**
 * The SQL of an append (libs/persistence/src/event-store/event-store.ts). Both statements have a
 * fixed text whatever the batch size (arrays, not a VALUES list per event), so each is prepared once
 * per connection under its name and then only bound and executed.
 */

/** The last link of a stream as the writer knows it: what the next event's position and prevHash follow. */
export interface StreamHead {
  position: number;
  hash: string | null;
  /** The head's recording time: a stream's recording times never go backwards. */
  recordedAt: string | null;
}

export const EMPTY_HEAD: StreamHead = { position: 0, hash: null, recordedAt: null };

/** What node-postgres takes for a named (prepared) statement. */
export interface NamedQuery {
  name: string;
  text: string;
  values: unknown[];
}

/** A pg Client or Pool (TypeORM's driver pool, or a transaction's connection). */
export interface PgQueryable {
  query(query: NamedQuery): Promise<{ rows: unknown[] }>;
}

/** TypeORM's pool of node-postgres connections: named statements are prepared once per connection. */
export function pgPool(db: { driver: unknown }): PgQueryable {
  return (db.driver as { master: PgQueryable }).master;
}

const HEAD = `SELECT stream_position AS position, hash, recorded_at AS "recordedAt" FROM events WHERE stream_id = $1 ORDER BY stream_position DESC LIMIT 1`;

/** The stream's head and those of the batch's event ids already stored (in any stream). */
export function readHeadQuery(streamId: string, eventIds: string[]): NamedQuery {
  return {
    name: 'concentra_events_head_v1',
    text: `SELECT (SELECT row_to_json(h) FROM (${HEAD}) h) AS head,
              (SELECT json_agg(e) FROM events e WHERE e.event_id = ANY($2::text[])) AS existing`,
    values: [streamId, eventIds],
  };
}

/**
 * The append itself, one statement: it stores the chained events and moves every projection's
 * checkpoint only if, in its own snapshot, the stream's head is still the one the hashes were
 * computed from and none of the event ids is stored yet. Otherwise it writes nothing and answers
 * the head and the stored events it found, for the writer to decide again. A writer racing it to
 * the same position waits on the (stream_id, stream_position) key and then fails with 23505: the
 * key, not a lock, keeps each stream one gapless chain.
 */
export function guardedInsertQuery(streamId: string, head: StreamHead, records: Array<Omit<StoredEvent, 'globalPosition'>>, projections: string[]): NamedQuery {
  return {
    name: 'concentra_events_append_v1',
    text: `WITH head AS (${HEAD}),
       existing AS (SELECT * FROM events WHERE event_id = ANY($2::text[])),
       go AS (
         SELECT NOT EXISTS (SELECT 1 FROM existing)
           AND coalesce((SELECT position FROM head), 0) = $3::int
           AND (SELECT hash::text FROM head) IS NOT DISTINCT FROM $4::text AS ok),
       inserted AS (
         INSERT INTO events (stream_id, stream_position, event_id, type, schema_version, data, metadata, occurred_at, recorded_at, prev_hash, hash)
         SELECT $1, e.stream_position, e.event_id, e.type, e.schema_version, e.data, e.metadata, e.occurred_at, $12::timestamptz, e.prev_hash, e.hash
         FROM unnest($6::int[], $2::text[], $7::text[], $8::int[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $13::text[], $14::text[])
           WITH ORDINALITY AS e(stream_position, event_id, type, schema_version, data, metadata, occurred_at, prev_hash, hash, n)
         WHERE (SELECT ok FROM go)
         ORDER BY e.n
         RETURNING event_id, global_position),
       checkpoint AS (
         INSERT INTO projection_checkpoints (projection, position, updated_at)
         SELECT name, (SELECT max(global_position) FROM inserted), now() FROM unnest($5::text[]) AS name
         WHERE EXISTS (SELECT 1 FROM inserted)
         ON CONFLICT (projection) DO UPDATE SET position = GREATEST(projection_checkpoints.position, EXCLUDED.position), updated_at = now())
     SELECT (SELECT ok FROM go) AS ok,
       (SELECT json_object_agg(event_id, global_position) FROM inserted) AS inserted,
       (SELECT row_to_json(h) FROM head h) AS head,
       (SELECT json_agg(x) FROM existing x) AS existing`,
    values: [
      streamId,
      records.map((r) => r.eventId),
      head.position,
      head.hash,
      projections,
      records.map((r) => r.streamPosition),
      records.map((r) => r.type),
      records.map((r) => r.schemaVersion),
      records.map((r) => r.data),
      records.map((r) => r.metadata),
      records.map((r) => r.occurredAt),
      records[0].recordedAt,
      records.map((r) => r.prevHash),
      records.map((r) => r.hash),
    ],
  };
}

/** An events row, as a query gives it (instants as Date) or as `json_agg` of it does (as text). */
export interface EventJson {
  global_position: number | string;
  stream_id: string;
  stream_position: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: Record<string, unknown>;
  metadata: StoredEvent['metadata'];
  occurred_at: string | Date;
  recorded_at: string | Date;
  prev_hash: string | null;
  hash: string;
}

export function storedFromJson(e: EventJson): StoredEvent {
  return {
    globalPosition: Number(e.global_position),
    streamId: e.stream_id,
    streamPosition: e.stream_position,
    eventId: e.event_id,
    type: e.type,
    schemaVersion: e.schema_version,
    data: e.data,
    metadata: e.metadata,
    occurredAt: new Date(e.occurred_at).toISOString(),
    recordedAt: new Date(e.recorded_at).toISOString(),
    prevHash: e.prev_hash,
    hash: e.hash,
  };
}

export function headFromJson(h: { position: number; hash: string | null; recordedAt: string | null } | null): StreamHead {
  return h ? { position: h.position, hash: h.hash, recordedAt: h.recordedAt === null ? null : new Date(h.recordedAt).toISOString() } : EMPTY_HEAD;
}
