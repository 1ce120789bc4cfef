import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery state moved to `notification_deliveries` (one row per person or endpoint and channel),
 * so the outbox's own `delivered_at`, `attempts` and `last_error` are no longer written by anyone;
 * left in place they read as "never delivered" to whoever queries them. The outbox keeps what must
 * be told and `addressed_at`, which says the relay has turned it into deliveries.
 */
export class OutboxDeliveryColumns1764288520000 implements MigrationInterface {
  name = 'OutboxDeliveryColumns1764288520000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX IF EXISTS notification_outbox_pending_idx`);
    await db.query(`ALTER TABLE notification_outbox DROP COLUMN delivered_at, DROP COLUMN attempts, DROP COLUMN last_error`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE notification_outbox ADD COLUMN delivered_at timestamptz, ADD COLUMN attempts integer NOT NULL DEFAULT 0, ADD COLUMN last_error text`);
    await db.query(`CREATE INDEX notification_outbox_pending_idx ON notification_outbox (created_at) WHERE delivered_at IS NULL`);
  }
}
