import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Directory, NotificationActivities } from '@concentra/notifications';
import { startSmtpSink, type SmtpSink } from '@concentra/tools/smtp-sink';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startWebhookReceiver, type WebhookReceiver } from './loopback';

/**
 * The relay killed (SIGKILL) between sending and recording: each receiver, when a message id first
 * arrives, kills the relay's process before it answers. The next relay sends the message again
 * under the same id; the receivers count each id twice, and the outbox records it delivered once.
 */
describe('the relay killed between sending and recording', () => {
  let database: TestDatabase;
  let smtp: SmtpSink;
  let hook: WebhookReceiver;
  let current: ChildProcess | null = null;
  const arrivals: string[] = [];
  const kills: string[] = [];
  const secret = `whsec_${randomBytes(24).toString('base64')}`;

  const killOnFirstArrival = async (id: string) => {
    arrivals.push(id);
    const child = current;
    if (arrivals.filter((a) => a === id).length !== 1 || !child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    kills.push(id);
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    smtp = await startSmtpSink({ beforeAccept: (mail) => killOnFirstArrival(mail.messageId) });
    hook = await startWebhookReceiver(secret, (h) => killOnFirstArrival(h.id));
  });
  afterAll(async () => {
    current?.kill('SIGKILL');
    await smtp?.close();
    await hook?.close();
    await database?.drop();
  });

  const runRelay = () =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', join(__dirname, '..', '..', 'gpu', 'test', 'support', 'register-ts.js'), join(__dirname, 'support', 'relay-child.ts')], {
        env: { ...process.env, DATABASE_URL: database.url, SMTP_URL: smtp.url },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      current = child;
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stderr }));
    });

  it('sends each message again under the same id after the crash, and records it delivered once', async () => {
    const directory = new Directory(database.db);
    await directory.setContacts('program', 'crash', [{ name: 'PM', email: 'pm@ministry.example', role: 'program_manager', timeZone: 'Asia/Seoul' }]);
    await directory.putWebhook('program', 'crash', hook.url, [secret]);
    // Written as the cycle workflow writes an escalation (the real outbox writer).
    await new NotificationActivities(database.db).enqueueNotification({
      key: 'cycle:crash:2027:escalation:7:0', cycleId: 'cycle:crash:2027', kind: 'escalation', recipient: { role: 'program_manager' },
      subject: 'Escalation', body: { reason: 'approval_overdue', details: 'selection not approved' }, dueAt: '2027-03-01T00:00:00.000Z',
    });

    const runs = [];
    for (let i = 0; i < 5; i += 1) {
      const run = await runRelay();
      runs.push(run.signal ?? run.code);
      if (run.code === 0) break;
      if (run.signal !== 'SIGKILL') throw new Error(`the relay failed on its own: ${run.stderr}`);
    }
    // Killed once per message (email, then webhook), then a run that finished.
    expect(runs).toEqual(['SIGKILL', 'SIGKILL', 0]);

    const rows = (await database.db.query(`SELECT channel, message_id, status, attempts, delivered_at FROM notification_deliveries ORDER BY channel`)) as Array<{
      channel: string; message_id: string; status: string; attempts: number; delivered_at: Date | null;
    }>;
    expect(rows.map((r) => [r.channel, r.status, r.attempts])).toEqual([['email', 'delivered', 1], ['webhook', 'delivered', 1]]);
    const [email, webhook] = rows;
    expect(kills).toEqual([email.message_id, webhook.message_id]);
    // Counted on the receivers: each id twice (the send before the crash and the one after), nothing else.
    expect(smtp.received.map((m) => m.messageId)).toEqual([email.message_id, email.message_id]);
    expect(hook.received.map((h) => [h.id, h.verified])).toEqual([[webhook.message_id, true], [webhook.message_id, true]]);
    expect(arrivals).toEqual([email.message_id, email.message_id, webhook.message_id, webhook.message_id]);
  });
});
