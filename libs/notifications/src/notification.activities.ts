import type { DataSource } from 'typeorm';

export interface NotificationRecipient {
  role: string;
  subject?: string;
  organisationId?: string;
}

export interface NotificationInput {
  /** Deterministic id from the workflow step (e.g. the reminder key): the outbox keeps one row per key. */
  key: string;
  cycleId?: string;
  kind: 'reminder' | 'escalation' | 'decision' | 'gpu_usage' | (string & {});
  recipient: NotificationRecipient;
  subject: string;
  body: Record<string, unknown>;
  dueAt: string;
}

/** Writes notifications to the transactional outbox; delivery (email, webhooks) reads from there. */
export class NotificationActivities {
  constructor(private readonly db: DataSource) {}

  async enqueueNotification(input: NotificationInput): Promise<{ key: string; created: boolean }> {
    const rows = (await this.db.query(
      `INSERT INTO notification_outbox (key, cycle_id, kind, recipient, subject, body, due_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING id`,
      [input.key, input.cycleId ?? null, input.kind, input.recipient, input.subject, input.body, input.dueAt],
    )) as unknown[];
    return { key: input.key, created: rows.length === 1 };
  }
}
