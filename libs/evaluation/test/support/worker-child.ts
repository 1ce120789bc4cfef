/**
 * A Temporal worker process serving the real evaluation activities (EvaluationActivities on real
 * PostgreSQL) on an activity task queue: the worker-crash test kills it (SIGKILL) mid-run and starts
 * another. Env: TEMPORAL_ADDRESS, DATABASE_URL, EVAL_ACTIVITY_QUEUE. Prints "polling" once it polls.
 */
import 'reflect-metadata';
import { NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { createDataSource } from '@concentra/persistence';
import { activitiesOf } from '@concentra/temporal';
import { EvaluationActivities } from '../../src/evaluation.activities';

async function main(): Promise<void> {
  Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(`${m}\n`) } });
  const db = await createDataSource(process.env.DATABASE_URL as string, { applicationName: 'concentra-evaluation-worker-child' }).initialize();
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS as string });
  const worker = await Worker.create({
    connection,
    taskQueue: process.env.EVAL_ACTIVITY_QUEUE as string,
    activities: activitiesOf(new EvaluationActivities(db, { retryBackoffMs: 20 })),
  });
  const running = worker.run();
  process.stdout.write('polling\n');
  process.once('SIGTERM', () => worker.shutdown());
  await running;
  await connection.close();
  await db.destroy();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
