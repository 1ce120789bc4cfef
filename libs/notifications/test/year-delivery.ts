/**
 * Delivers what a whole cycle recorded, on real parts: the directory filled as program managers do,
 * the relay (the worker's own) sending to an SMTP server on loopback, every message parsed there.
 * Answers the table of kind × recipient as received, and the Message-IDs seen more than once.
 */
import type { DataSource } from 'typeorm';
import { Directory, NotificationRelay } from '@concentra/notifications';
import { startSmtpSink } from '@concentra/tools/smtp-sink';

export interface YearDelivery {
  /** `kind → recipient email → how many received`. */
  table: Record<string, Record<string, number>>;
  duplicates: string[];
  /** Deliveries not delivered (status other than delivered), as `kind key status`. */
  undelivered: string[];
}

export async function deliverYear(db: DataSource, program: string, teams: string[], panel: string[]): Promise<YearDelivery> {
  const directory = new Directory(db);
  for (const team of teams) await directory.setContacts('organisation', `org-${team}`, [{ name: `Lead ${team}`, email: `lead@org-${team}.example`, role: 'lead', timeZone: 'Asia/Seoul' }]);
  await directory.setContacts('program', program, [{ name: 'Program manager', email: 'pm@ministry.example', role: 'program_manager', timeZone: 'Asia/Seoul' }]);
  for (const person of panel) await directory.setContacts('person', person, [{ name: person, email: `${person}@panel.example`, role: person.replace(/-\d+$/, ''), timeZone: 'UTC' }]);
  const smtp = await startSmtpSink();
  const relay = new NotificationRelay(db, { smtpUrl: smtp.url });
  try {
    for (let pass = 0; pass < 50; pass += 1) {
      const { addressed, attempts } = await relay.runOnce();
      if (addressed === 0 && attempts === 0) break;
    }
  } finally {
    await relay.stop();
    await smtp.close();
  }
  const kindOf = new Map(((await db.query('SELECT message_id, kind FROM notification_deliveries')) as { message_id: string; kind: string }[]).map((r) => [r.message_id, r.kind]));
  const table: YearDelivery['table'] = {};
  const seen = new Map<string, number>();
  for (const mail of smtp.received) {
    seen.set(mail.messageId, (seen.get(mail.messageId) ?? 0) + 1);
    const kind = kindOf.get(mail.messageId) ?? `unknown:${mail.parsed.subject ?? ''}`;
    for (const to of mail.to) (table[kind] ??= {})[to] = ((table[kind] ??= {})[to] ?? 0) + 1;
  }
  const undelivered = ((await db.query(`SELECT kind, key, status FROM notification_deliveries WHERE status <> 'delivered' ORDER BY id`)) as { kind: string; key: string; status: string }[]).map(
    (r) => `${r.kind} ${r.key} ${r.status}`,
  );
  return { table, duplicates: [...seen].filter(([, n]) => n > 1).map(([id]) => id), undelivered };
}
