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

  /**
   * Which of these affected teams have the decision's notice delivered (to anyone of the team, by
   * any channel): the decision named by its key and the instant it was taken, so a decision taken
   * again after an upheld objection looks for its own notices. Read-only, so safe to retry.
   */
  async teamsNotified(input: { cycleId: string; decisionKey: string; decidedAt: string; applicationIds: string[] }): Promise<string[]> {
    const rows = (await this.db.query(
      `SELECT DISTINCT o.body->>'applicationId' AS id
         FROM notification_outbox o JOIN notification_deliveries d ON d.outbox_key = o.key
        WHERE o.cycle_id = $1 AND o.kind IN ('not_selected', 'narrowing_dropped')
          AND o.body->>'decisionKey' = $2 AND (o.body->>'decidedAt')::timestamptz = $3::timestamptz
          AND o.body->>'applicationId' = ANY($4::text[]) AND d.status = 'delivered'`,
      [input.cycleId, input.decisionKey, input.decidedAt, input.applicationIds],
    )) as { id: string }[];
    return rows.map((r) => r.id).sort();
  }
}
