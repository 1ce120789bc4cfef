import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import type { Directory, Audience } from '../directory/directory';
import { render, type Language } from '../messages/templates';

/** What one delivery carries: the rendered email, or the webhook's JSON payload. */
export interface DeliveryContent {
  subject: string;
  text: string;
  html: string;
  payload: Record<string, unknown>;
}

interface OutboxRow { key: string; cycle_id: string | null; kind: string; recipient: Audience; body: Record<string, unknown>; due_at: Date }

/** The identity of one delivery that the receiver sees on every retry: email Message-ID, webhook-id. */
export function messageIdOf(deliveryKey: string, channel: 'email' | 'webhook' | 'none'): string {
  const digest = createHash('sha256').update(deliveryKey).digest('hex').slice(0, 32);
  return channel === 'webhook' ? `msg_${digest}` : `<${digest}@notifications.concentra>`;
}

/**
 * Turns outbox rows (what to tell which audience) into deliveries (one per person or endpoint and
 * channel, keyed `<outbox key>:<address>:<channel>`), rendered once in the program's language and
 * the recipient's time zone so that every retry sends the same message. One transaction per row:
 * the deliveries and the row's `addressed_at` are written together. An audience nobody in the
 * directory answers for becomes one `unaddressed` delivery, listed with the cycle's notifications
 * until a program manager, with the directory filled in, asks for it again.
 */
export class OutboxAddresser {
  constructor(
    private readonly db: DataSource,
    private readonly directory: Directory,
  ) {}

  /** Addresses up to `limit` rows; answers how many it addressed. */
  async addressPending(now: Date, limit = 50): Promise<number> {
    let done = 0;
    for (; done < limit; done += 1) {
      const addressed = await this.db.transaction(async (tx) => {
        const [row] = (await tx.query(
          'SELECT key, cycle_id, kind, recipient, body, due_at FROM notification_outbox WHERE addressed_at IS NULL ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED',
        )) as OutboxRow[];
        if (!row) return false;
        await this.address(tx, row, now);
        await tx.query('UPDATE notification_outbox SET addressed_at = $2 WHERE key = $1', [row.key, now]);
        return true;
      });
      if (!addressed) break;
    }
    return done;
  }

  private async address(tx: EntityManager, row: OutboxRow, now: Date): Promise<void> {
    const cycleId = row.cycle_id ?? '';
    const language = await languageOf(tx, cycleId);
    const { contacts, webhooks } = await this.directory.resolve(cycleId, row.recipient, tx);
    const payload = { type: `concentra.${row.kind}`, cycleId, key: row.key, recipient: row.recipient, data: row.body, dueAt: row.due_at.toISOString() };
    const insert = async (channel: 'email' | 'webhook' | 'none', address: string, content: DeliveryContent, webhookId: number | null, status: 'pending' | 'unaddressed') => {
      const key = `${row.key}:${address}:${channel}`;
      await tx.query(
        `INSERT INTO notification_deliveries (key, outbox_key, cycle_id, kind, channel, recipient, address, webhook_id, message_id, language, content, status, next_attempt_at, last_error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (key) DO NOTHING`,
        [key, row.key, row.cycle_id, row.kind, channel, row.recipient, address, webhookId, messageIdOf(key, channel), language, content, status, now,
          status === 'unaddressed' ? `nobody in the directory for ${JSON.stringify(row.recipient)}` : null],
      );
    };
    for (const contact of contacts) {
      const rendered = render(row.kind, row.body, { cycleId, language, timeZone: contact.timeZone, recipientName: contact.name });
      await insert('email', contact.email, { ...rendered, payload }, null, 'pending');
    }
    for (const hook of webhooks.filter((w) => !w.disabledAt)) {
      const rendered = render(row.kind, row.body, { cycleId, language, timeZone: 'UTC', recipientName: null });
      await insert('webhook', `webhook-${hook.id}`, { ...rendered, payload }, hook.id, 'pending');
    }
    if (contacts.length === 0 && !webhooks.some((w) => !w.disabledAt)) {
      await insert('none', 'nobody', { ...render(row.kind, row.body, { cycleId, language, timeZone: 'UTC', recipientName: null }), payload }, null, 'unaddressed');
    }
  }
}

/** The program's language, from the policy the cycle runs on (absent: English). */
async function languageOf(tx: EntityManager, cycleId: string): Promise<Language> {
  const [row] = (await tx.query(`SELECT state->'policy'->>'language' AS language FROM cycle_states WHERE cycle_id = $1`, [cycleId])) as { language: string | null }[];
  return row?.language === 'ko' ? 'ko' : 'en';
}
