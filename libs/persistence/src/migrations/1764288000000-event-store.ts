import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The append-only, hash-chained event store. The database itself refuses UPDATE, DELETE and TRUNCATE. */
export class EventStore1764288000000 implements MigrationInterface {
  name = 'EventStore1764288000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE events (
        global_position  bigserial PRIMARY KEY,
        stream_id        text        NOT NULL,
        stream_position  integer     NOT NULL CHECK (stream_position >= 1),
        event_id         text        NOT NULL UNIQUE,
        type             text        NOT NULL,
        schema_version   integer     NOT NULL DEFAULT 1,
        data             jsonb       NOT NULL,
        metadata         jsonb       NOT NULL,
        occurred_at      timestamptz NOT NULL,
        recorded_at      timestamptz NOT NULL DEFAULT now(),
        prev_hash        char(64),
        hash             char(64)    NOT NULL,
        UNIQUE (stream_id, stream_position)
      )`);
    await db.query(`CREATE INDEX events_type_idx ON events (type)`);
    await db.query(`CREATE INDEX events_occurred_at_idx ON events (stream_id, occurred_at)`);
    await db.query(`
      CREATE FUNCTION events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    await db.query(`
      CREATE TRIGGER events_no_update_or_delete BEFORE UPDATE OR DELETE ON events
      FOR EACH ROW EXECUTE FUNCTION events_are_append_only()`);
    await db.query(`
      CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
      FOR EACH STATEMENT EXECUTE FUNCTION events_are_append_only()`);
    await db.query(`
      CREATE TABLE projection_checkpoints (
        projection  text PRIMARY KEY,
        position    bigint NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE projection_checkpoints`);
    await db.query(`DROP TABLE events`);
    await db.query(`DROP FUNCTION events_are_append_only`);
  }
}
