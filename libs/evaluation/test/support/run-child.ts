/**
 * Runs one evaluation run in its own process, as a worker's activity would, against real
 * PostgreSQL and a loopback model: the crash test kills this process (SIGKILL) mid-run.
 * Input: EVAL_TEST_INPUT (JSON); output: the result as JSON on stdout.
 */
import 'reflect-metadata';
import { createDataSource } from '@concentra/persistence';
import { EvaluationRun } from '../../src/evaluation-run';

async function main(): Promise<void> {
  const db = await createDataSource(process.env.DATABASE_URL as string, { applicationName: 'concentra-evaluation-child' }).initialize();
  const result = await new EvaluationRun(db, { retryBackoffMs: 20 }).run(JSON.parse(process.env.EVAL_TEST_INPUT as string), {
    heartbeat: (p) => process.stderr.write(`progress ${p.done}/${p.total}\n`),
    signal: new AbortController().signal,
  });
  process.stdout.write(JSON.stringify(result));
  await db.destroy();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
