import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { defaultPolicy, policyHash } from '@concentra/domain';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { writeWorkflowBundle } from '@concentra/temporal';
import { decisionsInHistory } from '@concentra/audit';
import { commandUpdates, cycleStatusQuery, cycleWorkflowId, type CommandResult, type PersonCommand } from '@concentra/workflows/contracts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { spawnWorkerProcess, until as waitUntil, type WorkerProcess } from '../../test/support/worker-process';
import { PANEL, application, teams } from './cycle-drivers';
import { pm } from '../../libs/domain/src/cycle/testing';

/**
 * On the Temporal dev server, the real worker process serving a cycle (workflows and the real event
 * activity on real PostgreSQL) is killed (SIGKILL) right after an append that stored several
 * commands' events has committed, before Temporal hears of it. Twenty applications were sent at
 * once. The server retries the append after its start-to-close timeout on a second worker process,
 * which replays the cycle: every Update completes, every application is stored exactly once, the
 * numbering has no gap, and the batch that was cut was stored by its first attempt only.
 */
const BOUND_MS = 180_000;

const until = <T>(what: string, check: () => T | undefined | Promise<T | undefined>) => waitUntil(what, check, BOUND_MS);

describe('a worker killed in the middle of a batched append', () => {
  const tag = randomBytes(3).toString('hex');
  const taskQueue = `batch-crash-${tag}`;
  const bundlePath = join(tmpdir(), `concentra-cycle-bundle-${tag}.js`);
  let database: TestDatabase;
  let connection: Connection;
  let client: Client;
  const children: ChildProcess[] = [];

  const spawnWorker = async (env: Record<string, string> = {}): Promise<WorkerProcess> => {
    const worker = await spawnWorkerProcess(join(__dirname, 'support', 'cycle-worker-child.ts'), { DATABASE_URL: database.url, CYCLE_TASK_QUEUE: taskQueue, CYCLE_BUNDLE: bundlePath, ...env }, BOUND_MS);
    children.push(worker.child);
    return worker;
  };

  beforeAll(async () => {
    const address = process.env.TEST_TEMPORAL_ADDRESS;
    if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts)');
    database = await createTestDatabase();
    connection = await Connection.connect({ address });
    client = new Client({ connection });
    await writeWorkflowBundle(bundlePath);
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await connection?.close();
    await database?.drop();
    rmSync(bundlePath, { force: true });
  });

  it('every command is answered and stored exactly once, numbered without a gap', async () => {
    const first = await spawnWorker({ CYCLE_KILL_AFTER_BATCH: '1' });
    const program = `crash-${tag}`;
    const workflowId = cycleWorkflowId(program, 2027);
    const policy = { ...defaultPolicy, program };
    const handle = await client.workflow.start('programCycle', {
      taskQueue,
      workflowId,
      args: [{ programSlug: program, year: 2027, policy: policy as unknown as Record<string, unknown>, policyHash: policyHash(policy), startedBy: pm, panel: PANEL }],
    });
    await until('the call to open', async () => ((await handle.query(cycleStatusQuery)).stage === 'call' ? true : undefined));

    const ids = teams(20);
    // Eight senders at a time, as the API's clients would be (the server takes at most ten Updates in flight per workflow).
    const results: CommandResult[] = [];
    let next = 0;
    const sent = Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < ids.length) {
          const i = next++;
          results[i] = (await handle.executeUpdate(commandUpdates.SubmitApplication as never, { args: [application(ids[i]) as PersonCommand] })) as CommandResult;
        }
      }),
    );
    const exited = await until('the first worker to kill itself after a batched append', () => (first.child.signalCode === 'SIGKILL' ? true : undefined));
    expect(exited).toBe(true);
    const storedAtKill = (first.stdout().match(/killed after storing (\S+)/)?.[1] ?? '').split(',');
    expect(storedAtKill.length).toBeGreaterThan(1);

    const second = await spawnWorker();
    await sent;
    expect(results.map((r) => r.events)).toEqual(ids.map(() => ['ApplicationSubmitted']));

    // The store: every application once, ids #1..#21 without a gap; the cut batch among them once.
    const store = new EventStore(database.db, PROJECTIONS);
    const events = await store.readStream(workflowId);
    expect(events.map((e) => e.eventId)).toEqual(events.map((_, i) => `${workflowId}#${i + 1}`));
    expect(events.map((e) => e.type)).toEqual(['CallOpened', ...ids.map(() => 'ApplicationSubmitted')]);
    expect(events.slice(1).map((e) => (e.data as { applicationId: string }).applicationId).sort()).toEqual([...ids].sort());
    for (const id of storedAtKill) expect(events.filter((e) => e.eventId === id)).toHaveLength(1);
    expect((await handle.query(cycleStatusQuery)).eventsRecorded).toBe(21);

    // Temporal's view: the append that carried the cut batch ran twice (the first attempt timed out) and completed once.
    const history = await handle.fetchHistory();
    const steps = decisionsInHistory(workflowId, '', history);
    const cut = steps.find((s) => s.event.eventId === storedAtKill[0])!;
    expect(steps.filter((s) => s.scheduledEventId === cut.scheduledEventId).map((s) => s.event.eventId)).toEqual(storedAtKill);
    const started = (history.events ?? []).filter((e) => Number(e.activityTaskStartedEventAttributes?.scheduledEventId) === cut.scheduledEventId);
    expect(started).toHaveLength(1);
    expect(started[0].activityTaskStartedEventAttributes!.attempt).toBe(2);
    expect(started[0].activityTaskStartedEventAttributes!.lastFailure?.timeoutFailureInfo?.timeoutType).toBe(temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE);

    const cancelled = await handle.executeUpdate(commandUpdates.CancelCycle as never, { args: [{ type: 'CancelCycle', actor: pm, data: { reason: 'test over' } } as PersonCommand] }) as CommandResult;
    expect(cancelled.events).toEqual(['CycleCancelled']);
    await handle.result();
    second.child.kill('SIGTERM');
  }, 300_000);
});
