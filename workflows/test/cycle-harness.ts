/**
 * Runs cycle workflows on the real time-skipping test server with the real activities (event store
 * and outbox on a fresh PostgreSQL database, the GPU ledger) and drives them as people would:
 * commands as Updates, time moved on to each deadline.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { evolveAll, owed, policyHash, type CycleCommand, type CycleEvent, type CycleEventType, type Owed, type ProgramPolicy } from '@concentra/domain';
import { EventActivities, EventStore, PROJECTIONS, type StoredEvent } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { EvaluationActivities } from '@concentra/evaluation';
import type { CapacityInput, GpuAllocationView } from '@concentra/gpu';
import { activitiesOf, workflowRest } from '@concentra/temporal';
import {
  commandUpdates,
  cycleStatusQuery,
  cycleWorkflowId,
  type CommandResult,
  type CycleStatus,
  type CycleTuning,
  type PersonCommand,
} from '@concentra/workflows/contracts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { createDevServerEnvironment, createTimeSkippingEnvironment } from '../../test/support/temporal';
import { createTestWorker } from '../../test/support/worker';
import { createGpuTestActivities, type GpuTestPool } from '../../test/support/gpu';

/** How long a poll waits for the workflows to catch up before the test fails with what it saw last. */
const POLL_BOUND_MS = 60_000;
const POLL_EVERY_MS = 25;

/**
 * Scenarios simulate whole years: a grant metered every day would run ~180 metering activities per
 * grant and half year. Monthly metering exercises the same code at a fraction of the cost.
 */
export const TEST_TUNING: CycleTuning = { grantMeteringInterval: '30 days' };

export interface Panel {
  reviewers: { subject: string; organisationId?: string }[];
  evaluators: { subject: string; organisationId?: string }[];
}

export interface OutboxRow {
  key: string;
  kind: string;
  recipient: { role: string; subject?: string; organisationId?: string };
  subject: string;
  body: Record<string, unknown>;
  dueAt: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read recorded event data of many shapes
type EventData = Record<string, any>;

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

  /** `bundle`: other workflow code than workflows/src as built (a test that changes a rule). */
  /**
   * `devServer`: on the Temporal dev server (real time) instead of the time-skipping one, for fault
   * tests with a policy of seconds: the test server does not move its clock while an activity runs.
   */
  static async create(options: { bundle?: WorkflowBundleWithSourceMap; capacity?: CapacityInput[]; evaluation?: boolean; devServer?: boolean } = {}): Promise<CycleHarness> {
    const [env, database] = await Promise.all([options.devServer ? createDevServerEnvironment() : createTimeSkippingEnvironment(), createTestDatabase()]);
    const harness = new CycleHarness(env, database);
    harness.store = new EventStore(database.db, PROJECTIONS);
    harness.gpu = await createGpuTestActivities(database.db, harness.store, options.capacity ? { capacity: options.capacity } : {});
    harness.worker = await createTestWorker(
      env,
      {
        ...activitiesOf(new EventActivities(harness.store)),
        ...activitiesOf(new NotificationActivities(database.db)),
        ...harness.gpu.activities,
        // The evaluation service against teams' loopback endpoints (short pauses between retries).
        ...(options.evaluation ? activitiesOf(new EvaluationActivities(database.db, { retryBackoffMs: 20 })) : {}),
      },
      harness.taskQueue,
      options.bundle,
      // Heartbeats (and so a cancellation's delivery) throttled to a second rather than up to a minute: the policy runs in seconds.
      options.devServer ? { maxHeartbeatThrottleInterval: '1 second' } : {},
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

  async start(
    policy: ProgramPolicy,
    options: { program?: string; year?: number; panel?: Panel; lotterySeed?: string; tuning?: CycleTuning } = {},
  ): Promise<CycleRun> {
    const program = options.program ?? `p-${randomBytes(3).toString('hex')}`;
    const year = options.year ?? 2027;
    const workflowId = cycleWorkflowId(program, year);
    policy = { ...policy, program };
    const handle = await this.env.client.workflow.start('programCycle', {
      workflowId,
      taskQueue: this.taskQueue,
      // On a loaded 2-core CI box a workflow task can outlive the default 10 s (webpack bundling in
      // the other Jest worker starves it). The retried task then starts the grant children a second
      // time, which the time-skipping server answers with an internal error ("Generated message
      // class StartWorkflowExecutionRequest missing method getNamespace") forever: the cycle hangs.
      workflowTaskTimeout: '1 minute',
      args: [
        {
          programSlug: program,
          year,
          policy: policy as unknown as Record<string, unknown>,
          policyHash: policyHash(policy),
          startedBy: { role: 'program_manager', subject: 'pm-1' },
          panel: options.panel,
          lotterySeed: options.lotterySeed,
          tuning: { ...TEST_TUNING, ...options.tuning },
        },
      ],
    });
    const run = new CycleRun(this, handle, workflowId, program, year);
    await run.until((s) => s.stage !== 'not_started');
    return run;
  }

  /** Polls until `check` returns a value other than undefined (bounded; fails with the last thing seen). */
  async poll<T>(what: string, check: () => Promise<T | undefined>, describe: () => Promise<unknown> = async () => undefined): Promise<T> {
    const until = Date.now() + POLL_BOUND_MS;
    while (Date.now() < until) {
      const value = await check();
      if (value !== undefined) return value;
      await new Promise((resolve) => setTimeout(resolve, POLL_EVERY_MS));
    }
    throw new Error(`${what} not reached within ${POLL_BOUND_MS} ms; last seen: ${JSON.stringify(await describe())}`);
  }

  /** Moves the test server's clock to `at` (an instant), or a little past it. */
  async sleepUntil(at: string | number): Promise<void> {
    const wait = (typeof at === 'number' ? at : Date.parse(at)) - (await this.env.currentTimeMs());
    if (wait > 0) await this.env.sleep(wait);
  }

  async outbox(cycleId: string, kind?: string): Promise<OutboxRow[]> {
    const rows = (await this.database.db.query(
      `SELECT key, kind, recipient, subject, body, due_at FROM notification_outbox WHERE cycle_id = $1 ${kind ? 'AND kind = $2' : ''} ORDER BY id`,
      kind ? [cycleId, kind] : [cycleId],
    )) as Array<Omit<OutboxRow, 'dueAt'> & { due_at: Date }>;
    return rows.map(({ due_at, ...r }) => ({ ...r, dueAt: due_at.toISOString() }));
  }
}

export class CycleRun {
  /**
   * Wait for the workflow to be at rest before each command. Needed where a run may continue as new
   * at any moment (after a grant's report or a timer): the time-skipping test server loses an
   * Update that reaches a run as it closes, where a real server would hand it to the next run.
   */
  settleBeforeSend = false;

  constructor(
    private readonly harness: CycleHarness,
    readonly handle: WorkflowHandleWithFirstExecutionRunId,
    readonly id: string,
    readonly program: string,
    readonly year: number,
  ) {}

  grantId(team: string): string {
    return `grant:${this.program}:${this.year}:${team}`;
  }

  status(): Promise<CycleStatus> {
    return this.handle.query(cycleStatusQuery);
  }

  /** Who owes what, as the API's owed read answers it: the domain's rule on the recorded events. */
  async owed(): Promise<Owed[]> {
    const events = await this.events();
    return owed(evolveAll(events.map((e) => ({ type: e.type, data: e.data }) as unknown as CycleEvent)));
  }

  /** A person's command, as the API sends it: an Update whose validator runs the domain's decide. */
  async send(command: CycleCommand): Promise<CommandResult> {
    const update = commandUpdates[command.type as PersonCommand['type']];
    if (!update) throw new Error(`${command.type} is not a person's command`);
    if (this.settleBeforeSend) await this.settled();
    // Where runs continue as new, address the chain by workflow id alone (see settleBeforeSend).
    const handle = this.settleBeforeSend ? this.harness.env.client.workflow.getHandle(this.id) : this.handle;
    return await handle.executeUpdate(update as never, { args: [command as PersonCommand] });
  }

  /** Waits until the current run is at rest (`workflowRest`): nothing outstanding, nothing being started. */
  async settled(): Promise<void> {
    let last: unknown;
    await this.harness.poll(
      'the cycle at rest',
      async () => {
        const rest = await workflowRest(this.harness.env.client.workflow.getHandle(this.id));
        last = rest;
        return rest.atRest ? true : undefined;
      },
      async () => last,
    );
  }

  /** Moves the test server's clock to the next deadline and waits until the cycle has acted on it. */
  async passDeadline(expected?: string): Promise<CycleStatus> {
    const before = await this.status();
    if (!before.nextDeadline) throw new Error(`no deadline pending in stage ${before.stage}`);
    if (expected) expect(before.nextDeadline.kind).toBe(expected);
    await this.harness.sleepUntil(Date.parse(before.nextDeadline.at) + 1000);
    return this.until((s) => s.eventsRecorded > before.eventsRecorded && !(s.nextDeadline?.kind === before.nextDeadline!.kind && s.nextDeadline.at === before.nextDeadline!.at));
  }

  /** Polls the cycle's Query until the condition holds (bounded). The test server's clock does not move while we poll. */
  async until(condition: (status: CycleStatus) => boolean): Promise<CycleStatus> {
    let last: CycleStatus | undefined;
    return this.harness.poll(
      'cycle status condition',
      async () => {
        last = await this.status();
        return condition(last) ? last : undefined;
      },
      async () => last,
    );
  }

  /** Waits until the recorded events include these types (in this order, as a subsequence). */
  async untilEvents(...types: CycleEventType[]): Promise<StoredEvent[]> {
    let last: StoredEvent[] = [];
    return this.harness.poll(
      `events ${types.join(', ')}`,
      async () => {
        last = await this.events();
        let j = 0;
        for (const e of last) if (e.type === types[j]) j++;
        return j === types.length ? last : undefined;
      },
      async () => last.map((e) => e.type),
    );
  }

  events(): Promise<StoredEvent[]> {
    return this.harness.store.readStream(this.id);
  }

  async types(): Promise<string[]> {
    return (await this.events()).map((e) => e.type);
  }

  /** The recorded events of one type, their data typed loosely for assertions. */
  async eventsOf(type: CycleEventType): Promise<Array<StoredEvent & { data: EventData }>> {
    return (await this.events()).filter((e) => e.type === type) as Array<StoredEvent & { data: EventData }>;
  }

  /** Every GPU allocation this cycle's grants ever held (live or not). */
  async allocations(): Promise<GpuAllocationView[]> {
    return (await this.harness.gpu.allocations()).filter((a) => a.grantId.startsWith(`grant:${this.program}:${this.year}:`));
  }

  /** Allocations of this cycle's grants still holding GPUs. */
  async liveAllocations(): Promise<GpuAllocationView[]> {
    return (await this.harness.gpu.liveAllocations()).filter((a) => a.grantId.startsWith(`grant:${this.program}:${this.year}:`));
  }

  /** Waits until exactly these teams' grants hold GPUs. */
  async untilLive(teams: string[]): Promise<GpuAllocationView[]> {
    const want = teams.map((t) => this.grantId(t)).sort();
    let last: string[] = [];
    return this.harness.poll(
      `live allocations for ${teams.join(', ') || 'nobody'}`,
      async () => {
        const live = await this.liveAllocations();
        last = live.map((a) => a.grantId).sort();
        return JSON.stringify(last) === JSON.stringify(want) ? live : undefined;
      },
      async () => last,
    );
  }

  /** Runs the clock until the workflow completes; returns its result. */
  result(): Promise<{ stage: string; eventsRecorded: number; nextCycleId: string | null }> {
    return this.handle.result();
  }

  /**
   * Stops next year's cycle (started when this one closed, waiting for its opening date) so it does
   * not open during later scenarios. Cancelled, not terminated: terminating a run with a workflow
   * task in flight makes the time-skipping server's later skips take real time (sdk-java #3088).
   */
  async stopNextCycle(nextCycleId: string | null): Promise<void> {
    if (!nextCycleId) return;
    const next = this.harness.env.client.workflow.getHandle(nextCycleId);
    await next.cancel();
    await expect(next.result()).rejects.toThrow();
  }
}

/**
 * The harness of a describe block: created before its tests and closed after them, or one per test
 * (`per: 'test'`) where a scenario leaves the test server in a state the next must not inherit.
 * The returned object stands for whichever harness is current.
 */
export function useCycleHarness(options: Parameters<typeof CycleHarness.create>[0] = {}, per: 'suite' | 'test' = 'suite'): CycleHarness {
  let current: CycleHarness | undefined;
  const [before, after] = per === 'suite' ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    current = await CycleHarness.create(options);
  });
  after(async () => {
    await current?.close();
    current = undefined;
  });
  return new Proxy({} as CycleHarness, {
    get(_, key) {
      if (!current) throw new Error('the cycle harness is used outside a test');
      const value: unknown = Reflect.get(current, key);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(current) : value;
    },
  });
}
