import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { spawnWorkerProcess, until as waitUntil, type WorkerProcess } from '../../../test/support/worker-process';
import { EvaluationRunStore, loadSuite, type RunEvaluationInput } from '../src';
import { startLoopbackModel, type LoopbackModel } from './support/loopback-model';
import type { BenchmarkRunResult } from '../src';
import type { EvaluateOnceOptions } from './support/workflows';

/**
 * On the Temporal dev server, the real worker process serving `runEvaluation` (a child process: a
 * Temporal Worker with the real EvaluationActivities on real PostgreSQL) is killed (SIGKILL) when the
 * 16th question reaches the team's loopback server. The server notices the silence after the
 * heartbeat timeout (short: a fault test) and retries the activity; a second worker process picks it
 * up and resumes from the stored answers. Counted on the loopback server: every item answered once,
 * only the item cut by the kill asked twice. The result equals that of an uninterrupted run.
 * One request in flight at a time, so the kill always falls between a stored answer and the next ask.
 * The workflow is a minimal one calling the activity (support/workflows), not the cycle.
 */
const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
const BOUND_MS = 90_000;

const until = <T>(what: string, check: () => T | undefined | Promise<T | undefined>) => waitUntil(what, check, BOUND_MS);

describe('a Temporal worker killed while runEvaluation is mid-run', () => {
  const { suite, version } = loadSuite('basic-reasoning');
  const tag = randomBytes(3).toString('hex');
  const workflowQueue = `eval-crash-wf-${tag}`;
  const activityQueue = `eval-crash-act-${tag}`;
  let database: TestDatabase;
  let connection: Connection;
  let native: NativeConnection;
  let client: Client;
  let bundle: WorkflowBundleWithSourceMap;
  const children: ChildProcess[] = [];
  const servers: LoopbackModel[] = [];

  const spawnWorker = async (): Promise<WorkerProcess> => {
    const worker = await spawnWorkerProcess(join(__dirname, 'support', 'worker-child.ts'), { DATABASE_URL: database.url, EVAL_ACTIVITY_QUEUE: activityQueue }, BOUND_MS);
    children.push(worker.child);
    return worker;
  };

  beforeAll(async () => {
    const address = process.env.TEST_TEMPORAL_ADDRESS;
    if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts)');
    database = await createTestDatabase();
    connection = await Connection.connect({ address });
    native = await NativeConnection.connect({ address });
    client = new Client({ connection });
    bundle = await bundleWorkflowCode({ workflowsPath: join(__dirname, 'support', 'workflows', 'index.ts'), logger: quiet });
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.close()));
    await connection?.close();
    await native?.close();
    await database?.drop();
  });

  const input = (runId: string, server: LoopbackModel): RunEvaluationInput => ({
    runId, cycleId: 'cycle:crash:2027', round: 1, applicationId: 'team-crash',
    suite: 'basic-reasoning', suiteVersion: version, endpoint: { baseUrl: server.baseUrl, model: 'crash-model' }, concurrency: 1, requestTimeoutMs: 5_000,
  });
  const options: EvaluateOnceOptions = { activityTaskQueue: activityQueue, heartbeatTimeout: '3 seconds', retryInitialInterval: '200 ms' };

  it('resumes on another worker, asks every item exactly once, and records what an uninterrupted run records', async () => {
    let first: ChildProcess | null = null;
    const kills: string[] = [];
    const crashing = await startLoopbackModel({
      name: 'team-crash', suite, behaviour: { kind: 'accuracy', p: 0.75 },
      onArrival: async (itemId, _n, total) => {
        const child = first;
        if (total !== 16 || !child || child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
        kills.push(itemId);
      },
    });
    // The same model (same name, same designed answers) run without a crash, for the comparison.
    const steady = await startLoopbackModel({ name: 'team-crash', suite, behaviour: { kind: 'accuracy', p: 0.75 } });
    servers.push(crashing, steady);
    const crashRun = `cycle:crash:2027:evaluation:1:team-crash:${tag}`;
    const steadyRun = `cycle:steady:2027:evaluation:1:team-crash:${tag}`;

    const worker = await Worker.create({ connection: native, taskQueue: workflowQueue, workflowBundle: bundle });
    await worker.runUntil(async () => {
      first = (await spawnWorker()).child;
      const handle = await client.workflow.start('evaluateOnce', { workflowId: `eval-crash-${tag}`, taskQueue: workflowQueue, args: [input(crashRun, crashing), options] });
      await until('the first worker is killed mid-run', () => (kills.length === 1 ? true : undefined));
      expect(first.signalCode).toBe('SIGKILL');
      const afterKill = await new EvaluationRunStore(database.db).items(crashRun);
      expect(afterKill).toHaveLength(15);

      await spawnWorker();
      const resumedResult = (await handle.result()) as BenchmarkRunResult;

      // Temporal's view: attempt 1 ended by the heartbeat timeout, attempt 2 (the second worker) completed it.
      const history = await handle.fetchHistory();
      const started = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!);
      expect(started).toHaveLength(1);
      expect(started[0].attempt).toBe(2);
      expect(started[0].lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT);
      expect((history.events ?? []).filter((e) => e.activityTaskCompletedEventAttributes)).toHaveLength(1);

      // On the wire: 41 questions, every item answered exactly once, only the one cut by the kill asked twice.
      expect([...crashing.arrived.values()].reduce((a, b) => a + b, 0)).toBe(41);
      expect([...crashing.arrived].filter(([, n]) => n > 1)).toEqual([[kills[0], 2]]);
      expect(crashing.answered.size).toBe(40);
      expect([...crashing.answered.values()]).toEqual(Array(40).fill(1));
      expect(afterKill.map((i) => i.itemId)).not.toContain(kills[0]);
      for (const before of afterKill) expect(crashing.arrived.get(before.itemId)).toBe(1);
      const stored = await new EvaluationRunStore(database.db).items(crashRun);
      expect(stored).toHaveLength(40);
      expect(stored.every((i) => i.attempts === 1)).toBe(true);

      // The same run without a crash records the same result (all but its own run id).
      const uninterrupted = (await client.workflow.execute('evaluateOnce', { workflowId: `eval-steady-${tag}`, taskQueue: workflowQueue, args: [input(steadyRun, steady), options] })) as BenchmarkRunResult;
      expect([...steady.arrived.values()]).toEqual(Array(40).fill(1));
      const { runId: a, ...resumed } = resumedResult;
      const { runId: b, ...plain } = uninterrupted;
      expect([a, b]).toEqual([crashRun, steadyRun]);
      expect(resumed).toEqual(plain);
      expect(resumed).toMatchObject({ items: 40, errors: 0 });
    });
  });
});
