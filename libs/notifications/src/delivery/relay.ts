import type { DataSource, EntityManager } from 'typeorm';
import type { DeliveryContent } from './addresser';
import type { EmailSender, SendOutcome, WebhookSender } from './senders';
import { DEFAULT_RETRY, retryDelayMs, type RetrySchedule } from './retry';

interface DeliveryRow {
  id: string;
  key: string;
  channel: 'email' | 'webhook';
  address: string;
  webhook_id: string | null;
  message_id: string;
  content: DeliveryContent;
  attempts: number;
  first_attempt_at: Date | null;
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

/**
 * Delivers what is due. Each delivery is claimed in its own transaction (`FOR UPDATE SKIP LOCKED`,
 * so relays in several workers never take the same one), sent, and its outcome recorded before the
 * transaction commits. A relay killed between sending and recording leaves the row as it was (the
 * transaction dies with the connection): it is sent again, with the same Message-ID or webhook-id,
 * so the receiver can tell; it is recorded `delivered` once.
 */
export class DeliveryRelay {
  constructor(
    private readonly db: DataSource,
    private readonly senders: { email: EmailSender | null; webhook: WebhookSender },
    private readonly clock: Clock = systemClock,
    private readonly schedule: RetrySchedule = DEFAULT_RETRY,
  ) {}

  /** Sends every delivery due by the clock's now (at most `limit`); answers how many attempts it made. */
  async deliverDue(limit = 100): Promise<number> {
    let attempts = 0;
    for (; attempts < limit; attempts += 1) {
      const tried = await this.db.transaction((tx) => this.deliverOne(tx));
      if (!tried) break;
    }
    return attempts;
  }

  private async deliverOne(tx: EntityManager): Promise<boolean> {
    const now = this.clock.now();
    const [row] = (await tx.query(
      `SELECT id, key, channel, address, webhook_id, message_id, content, attempts, first_attempt_at FROM notification_deliveries
       WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT 1 FOR UPDATE SKIP LOCKED`,
      [now],
    )) as DeliveryRow[];
    if (!row) return false;
    const outcome = await this.send(tx, row);
    await this.record(tx, row, outcome, now);
    return true;
  }

  private async send(tx: EntityManager, row: DeliveryRow): Promise<SendOutcome> {
    if (row.channel === 'email') {
      if (!this.senders.email) return { ok: false, retry: true, error: 'no SMTP relay configured (SMTP_URL)' };
      return this.senders.email.send({ to: row.address, messageId: row.message_id, content: row.content });
    }
    const [hook] = (await tx.query('SELECT url, secrets, disabled_at, disabled_reason FROM directory_webhooks WHERE id = $1', [row.webhook_id])) as {
      url: string; secrets: string[]; disabled_at: Date | null; disabled_reason: string | null;
    }[];
    if (!hook) return { ok: false, retry: false, error: 'webhook endpoint removed from the directory' };
    if (hook.disabled_at) return { ok: false, retry: false, error: `webhook endpoint disabled: ${hook.disabled_reason ?? ''}` };
    const outcome = await this.senders.webhook.send({ url: hook.url, secrets: hook.secrets, webhookId: row.message_id, payload: row.content.payload });
    if (!outcome.ok && outcome.gone) {
      await tx.query('UPDATE directory_webhooks SET disabled_at = now(), disabled_reason = $2 WHERE id = $1 AND disabled_at IS NULL', [row.webhook_id, outcome.error]);
    }
    return outcome;
  }

  private async record(tx: EntityManager, row: DeliveryRow, outcome: SendOutcome, now: Date): Promise<void> {
    const attempts = row.attempts + 1;
    const first = row.first_attempt_at ?? now;
    if (outcome.ok) {
      await tx.query(
        `UPDATE notification_deliveries SET status = 'delivered', attempts = $2, first_attempt_at = $3, last_attempt_at = $4, delivered_at = $4 WHERE id = $1`,
        [row.id, attempts, first, now],
      );
      return;
    }
    const next = new Date(now.getTime() + retryDelayMs(this.schedule, row.key, attempts));
    const dead = !outcome.retry || next.getTime() - first.getTime() > this.schedule.giveUpAfterMs;
    await tx.query(
      `UPDATE notification_deliveries SET status = $2, attempts = $3, first_attempt_at = $4, last_attempt_at = $5, next_attempt_at = $6, last_error = $7 WHERE id = $1`,
      [row.id, dead ? 'dead' : 'pending', attempts, first, now, dead ? now : next, outcome.error],
    );
  }
}
