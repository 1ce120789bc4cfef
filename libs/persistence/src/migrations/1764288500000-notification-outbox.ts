import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The transactional outbox: workflows' activities write what must be sent, keyed by a deterministic
 * id, and a relay delivers it. A retried or replayed write of the same key is a no-op.
 */
export class NotificationOutbox1764288500000 implements MigrationInterface {
  name = 'NotificationOutbox1764288500000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE notification_outbox (
        id             bigserial PRIMARY KEY,
        key            text NOT NULL UNIQUE,
        cycle_id       text,
        kind           text NOT NULL,
        recipient      jsonb NOT NULL,
        subject        text NOT NULL,
        body           jsonb NOT NULL,
        due_at         timestamptz NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        delivered_at   timestamptz,
        attempts       integer NOT NULL DEFAULT 0,
        last_error     text
      )`);
    await db.query(`CREATE INDEX notification_outbox_pending_idx ON notification_outbox (created_at) WHERE delivered_at IS NULL`);
    await db.query(`CREATE INDEX notification_outbox_cycle_idx ON notification_outbox (cycle_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE notification_outbox`);
  }
}
