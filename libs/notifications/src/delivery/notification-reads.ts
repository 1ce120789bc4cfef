import type { DataSource } from 'typeorm';
import { DomainError } from '@concentra/domain';

export interface NotificationView {
  key: string;
  outboxKey: string;
  kind: string;
  channel: string;
  recipient: Record<string, unknown>;
  address: string;
  messageId: string;
  language: string;
  subject: string;
  status: 'pending' | 'delivered' | 'dead' | 'unaddressed';
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  lastError: string | null;
}

interface Row {
  key: string; outbox_key: string; kind: string; channel: string; recipient: Record<string, unknown>; address: string; message_id: string; language: string;
  subject: string; status: NotificationView['status']; attempts: number; created_at: Date; last_attempt_at: Date | null; next_attempt_at: Date; delivered_at: Date | null; last_error: string | null;
}

/** Who was told what, when, by which channel, and whether it arrived; redelivery of what did not. */
export class NotificationReads {
  constructor(private readonly db: DataSource) {}

  /** `maskAddresses`: email addresses are personal data; readers other than program managers and admins get the domain only. */
  async forCycle(cycleId: string, options: { status?: string; maskAddresses?: boolean } = {}): Promise<NotificationView[]> {
    const rows = (await this.db.query(
      `SELECT key, outbox_key, kind, channel, recipient, address, message_id, language, content->>'subject' AS subject, status, attempts,
              created_at, last_attempt_at, next_attempt_at, delivered_at, last_error
       FROM notification_deliveries WHERE cycle_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY id`,
      [cycleId, options.status ?? null],
    )) as Row[];
    return rows.map((r) => ({
      key: r.key, outboxKey: r.outbox_key, kind: r.kind, channel: r.channel, recipient: r.recipient, messageId: r.message_id,
      address: options.maskAddresses && r.channel === 'email' ? r.address.replace(/^[^@]*/, '…') : r.address,
      language: r.language, subject: r.subject, status: r.status, attempts: r.attempts, createdAt: r.created_at.toISOString(),
      lastAttemptAt: r.last_attempt_at?.toISOString() ?? null, nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
      deliveredAt: r.delivered_at?.toISOString() ?? null, lastError: r.last_error,
    }));
  }

  /**
   * Sends a dead-lettered delivery again (its key, Message-ID and content unchanged), with a fresh
   * retry window; an unaddressed one is addressed again from the directory as it is now.
   */
  async redeliver(cycleId: string, key: string, by: string): Promise<NotificationView> {
    await this.db.transaction(async (tx) => {
      const [row] = (await tx.query('SELECT status, outbox_key FROM notification_deliveries WHERE cycle_id = $1 AND key = $2 FOR UPDATE', [cycleId, key])) as { status: string; outbox_key: string }[];
      if (!row) throw new DomainError('not_found', `no notification ${key} in ${cycleId}`, 'key');
      if (row.status === 'unaddressed') {
        await tx.query('DELETE FROM notification_deliveries WHERE key = $1', [key]);
        await tx.query('UPDATE notification_outbox SET addressed_at = NULL WHERE key = $1', [row.outbox_key]);
        return;
      }
      if (row.status !== 'dead') throw new DomainError('invalid_state', `notification ${key} is ${row.status}; only a dead-lettered one is delivered again`, 'key');
      await tx.query(
        `UPDATE notification_deliveries SET status = 'pending', first_attempt_at = NULL, next_attempt_at = now(), last_error = $2 WHERE key = $1`,
        [key, `redelivery asked by ${by}`],
      );
    });
    return { ...((await this.forCycle(cycleId)).find((n) => n.key === key) ?? { key, status: 'unaddressed' }) } as NotificationView;
  }
}
