// The relay in a process of its own, for the crash test: delivers until nothing is left, then exits 0.
import { createDataSource } from '../../../persistence/src/data-source';
import { NotificationRelay } from '../../src/delivery/notification-relay';

async function main(): Promise<void> {
  const db = await createDataSource(process.env.DATABASE_URL!, { applicationName: 'relay-child' }).initialize();
  const relay = new NotificationRelay(db, { smtpUrl: process.env.SMTP_URL! });
  for (;;) {
    await relay.runOnce();
    const [{ left }] = (await db.query(
      `SELECT (SELECT count(*) FROM notification_deliveries WHERE status = 'pending') + (SELECT count(*) FROM notification_outbox WHERE addressed_at IS NULL) AS left`,
    )) as { left: string }[];
    if (Number(left) === 0) break;
  }
  await relay.stop();
  await db.destroy();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
