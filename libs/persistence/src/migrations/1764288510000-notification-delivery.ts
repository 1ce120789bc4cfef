import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery of the outbox. `notification_outbox` keeps what must be told to whom as a role (written by
 * the workflows for reminders and escalations, and by the decision relay from recorded events);
 * the relay addresses each row through the directory into `notification_deliveries`, one per person
 * (or endpoint) and channel under a deterministic key, and delivers those with attempts, status
 * and the last error. The directory is data: organisations' contacts, program managers, panel
 * members and webhook endpoints.
 */
export class NotificationDelivery1764288510000 implements MigrationInterface {
  name = 'NotificationDelivery1764288510000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE notification_outbox ADD COLUMN source_event_id text, ADD COLUMN addressed_at timestamptz`);
    await db.query(`CREATE INDEX notification_outbox_unaddressed_idx ON notification_outbox (id) WHERE addressed_at IS NULL`);
    await db.query(`
      CREATE TABLE directory_contacts (
        scope       text NOT NULL CHECK (scope IN ('organisation', 'program', 'person')),
        scope_id    text NOT NULL,
        email       text NOT NULL,
        name        text NOT NULL,
        role        text NOT NULL,
        time_zone   text NOT NULL DEFAULT 'UTC',
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (scope, scope_id, email)
      )`);
    await db.query(`
      CREATE TABLE directory_webhooks (
        id              bigserial PRIMARY KEY,
        scope           text NOT NULL CHECK (scope IN ('organisation', 'program')),
        scope_id        text NOT NULL,
        url             text NOT NULL,
        secrets         text[] NOT NULL,
        disabled_at     timestamptz,
        disabled_reason text,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (scope, scope_id, url)
      )`);
    await db.query(`
      CREATE TABLE notification_deliveries (
        id              bigserial PRIMARY KEY,
        key             text NOT NULL UNIQUE,
        outbox_key      text NOT NULL REFERENCES notification_outbox (key),
        cycle_id        text,
        kind            text NOT NULL,
        channel         text NOT NULL CHECK (channel IN ('email', 'webhook', 'none')),
        recipient       jsonb NOT NULL,
        address         text NOT NULL,
        webhook_id      bigint REFERENCES directory_webhooks (id),
        message_id      text NOT NULL,
        language        text NOT NULL,
        content         jsonb NOT NULL,
        status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'dead', 'unaddressed')),
        attempts        integer NOT NULL DEFAULT 0,
        first_attempt_at timestamptz,
        next_attempt_at timestamptz NOT NULL,
        last_attempt_at timestamptz,
        delivered_at    timestamptz,
        last_error      text,
        created_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX notification_deliveries_due_idx ON notification_deliveries (next_attempt_at) WHERE status = 'pending'`);
    await db.query(`CREATE INDEX notification_deliveries_cycle_idx ON notification_deliveries (cycle_id)`);
    // The decision relay's checkpoint (which events it has turned into outbox rows) lives with the projections'.
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE notification_deliveries`);
    await db.query(`DROP TABLE directory_webhooks`);
    await db.query(`DROP TABLE directory_contacts`);
    await db.query(`ALTER TABLE notification_outbox DROP COLUMN source_event_id, DROP COLUMN addressed_at`);
  }
}
