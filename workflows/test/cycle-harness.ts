/**
 * Runs cycle workflows on the real time-skipping test server with the real activities (event store
 * and outbox on a fresh PostgreSQL database, the GPU ledger) and drives them as people would:
 * commands as Updates, time moved on to each deadline.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import type { WorkflowHandle } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { policyHash, type CycleCommand, type ProgramPolicy, type CycleEventType } from '@concentra/domain';
import { EventActivities, EventStore, PROJECTIONS, type StoredEvent } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { activitiesOf } from '@concentra/temporal';
import {
  commandUpdates,
  cycleStatusQuery,
  cycleWorkflowId,
  type CommandResult,
  type CycleStatus,
  type PersonCommand,
} from '@concentra/workflows/contracts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { createTimeSkippingEnvironment } from '../../test/support/temporal';
import { createTestWorker } from '../../test/support/worker';
import { createGpuTestActivities, type GpuTestPool } from '../../test/support/gpu';

export class CycleHarness {
  private worker!: Worker;
  private running!: Promise<void>;
  store!: EventStore;
  gpu!: GpuTestPool;
  readonly taskQueue = `cycles-${randomBytes(4).toString('hex')}`;

  private constructor(
    readonly env: TestWorkflowEnvironment,
    readonly database: TestDatabase,
  ) {}

  static async create(): Promise<CycleHarness> {
    const [env, database] = await Promise.all([createTimeSkippingEnvironment(), createTestDatabase()]);
    const harness = new CycleHarness(env, database);
    harness.store = new EventStore(database.db, PROJECTIONS);
    harness.gpu = await createGpuTestActivities(database.db, harness.store);
    harness.worker = await createTestWorker(
      env,
      {
        ...activitiesOf(new EventActivities(harness.store)),
        ...activitiesOf(new NotificationActivities(database.db)),
        ...harness.gpu.activities,
      },
      harness.taskQueue,
    );
    harness.running = harness.worker.run();
    return harness;
  }

  async close(): Promise<void> {
    this.worker?.shutdown();
    await this.running;
    await this.env.teardown();
    await this.database.drop();
  }

  async start(policy: ProgramPolicy, options: { program?: string; year?: number; panel?: { reviewers: { subject: string; organisationId?: string }[]; evaluators: { subject: string; organisationId?: string }[] }; lotterySeed?: string } = {}): Promise<CycleRun> {
    const program = options.program ?? `p-${randomBytes(3).toString('hex')}`;
    const year = options.year ?? 2027;
    const workflowId = cycleWorkflowId(program, year);
    policy = { ...policy, program };
    const handle = await this.env.client.workflow.start('programCycle', {
      workflowId,
      taskQueue: this.taskQueue,
      args: [
        {
          programSlug: program,
          year,
          policy: policy as unknown as Record<string, unknown>,
          policyHash: policyHash(policy),
          startedBy: { role: 'program_manager', subject: 'pm-1' },
          panel: options.panel,
          lotterySeed: options.lotterySeed,
        },
      ],
    });
    const run = new CycleRun(this, handle, workflowId, program);
    await run.until((s) => s.stage !== 'not_started');
    return run;
  }
}

export class CycleRun {
  constructor(
    private readonly harness: CycleHarness,
    readonly handle: WorkflowHandle,
    readonly id: string,
    readonly program: string,
  ) {}

  grantId(team: string): string {
    return `grant:${this.program}:2027:${team}`;
  }

  status(): Promise<CycleStatus> {
    return this.handle.query(cycleStatusQuery);
  }

  /** A person's command, as the API sends it: an Update whose validator runs the domain's decide. */
  send(command: CycleCommand): Promise<CommandResult> {
    const update = commandUpdates[command.type as PersonCommand['type']];
    if (!update) throw new Error(`${command.type} is not a person's command`);
    return this.handle.executeUpdate(update as never, { args: [command as PersonCommand] });
  }

  /** Moves the test server's clock to the next deadline and waits until the cycle has acted on it. */
  async passDeadline(expected?: string): Promise<CycleStatus> {
    const before = await this.status();
    if (!before.nextDeadline) throw new Error(`no deadline pending in stage ${before.stage}`);
    if (expected) expect(before.nextDeadline.kind).toBe(expected);
    const wait = Date.parse(before.nextDeadline.at) - (await this.harness.env.currentTimeMs());
    await this.harness.env.sleep(Math.max(1, wait) + 1000);
    return this.until((s) => s.eventsRecorded > before.eventsRecorded && !(s.nextDeadline?.kind === before.nextDeadline!.kind && s.nextDeadline.at === before.nextDeadline!.at));
  }

  /**
   * Polls the cycle's Query until the condition holds (bounded; the test fails with the last status
   * otherwise). The test server's clock does not move while we poll.
   */
  async until(condition: (status: CycleStatus) => boolean, attempts = 300): Promise<CycleStatus> {
    let last: CycleStatus | undefined;
    for (let i = 0; i < attempts; i++) {
      last = await this.status();
      if (condition(last)) return last;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`condition not reached; last status: ${JSON.stringify(last)}`);
  }

  /** Waits until the recorded events include these types (in this order, as a subsequence). */
  async untilEvents(...types: CycleEventType[]): Promise<StoredEvent[]> {
    for (let i = 0; i < 300; i++) {
      const events = await this.events();
      let j = 0;
      for (const e of events) if (e.type === types[j]) j++;
      if (j === types.length) return events;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error(`events ${types.join(', ')} not recorded; have: ${(await this.events()).map((e) => e.type).join(', ')}`);
  }

  events(): Promise<StoredEvent[]> {
    return this.harness.store.readStream(this.id);
  }

  async types(): Promise<string[]> {
    return (await this.events()).map((e) => e.type);
  }

  /** Runs the clock until the workflow completes; returns its result. */
  result(): Promise<{ stage: string; eventsRecorded: number; nextCycleId: string | null }> {
    return this.handle.result();
  }
}
