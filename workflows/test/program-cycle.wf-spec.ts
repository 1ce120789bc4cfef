import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { defaultPolicy, policyHash } from '@concentra/domain';
import { EventActivities, EventStore, PROJECTIONS, ReadModels } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { activitiesOf } from '@concentra/temporal';
import { cycleStatusQuery, cycleWorkflowId, type CycleInput } from '@concentra/workflows/contracts';
import { createTestDatabase, type TestDatabase } from '../../test/support/database';
import { createTimeSkippingEnvironment } from '../../test/support/temporal';
import { createTestWorker } from '../../test/support/worker';

describe('programCycle on the time-skipping test server', () => {
  let env: TestWorkflowEnvironment;
  let database: TestDatabase;
  let store: EventStore;

  beforeAll(async () => {
    [env, database] = await Promise.all([createTimeSkippingEnvironment(), createTestDatabase()]);
    store = new EventStore(database.db, PROJECTIONS);
  });
  afterAll(async () => {
    await env?.teardown();
    await database?.drop();
  });

  const policy = { ...defaultPolicy, program: 'national-ai' };
  const input = (year: number): CycleInput => ({
    programSlug: 'national-ai',
    year,
    policy: policy as unknown as Record<string, unknown>,
    policyHash: policyHash(policy),
    startedBy: { role: 'program_manager', subject: 'pm-1' },
  });

  it('opens the call, waits the 30-day call on a durable timer, closes it, and with no applicants closes the cycle', async () => {
    const taskQueue = 'cycle-skeleton';
    const worker = await createTestWorker(env, { ...activitiesOf(new EventActivities(store)), ...activitiesOf(new NotificationActivities(database.db)) }, taskQueue);
    const workflowId = cycleWorkflowId('national-ai', 2027);

    const outcome = await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('programCycle', { workflowId, taskQueue, args: [input(2027)] });
      const startedAt = await env.currentTimeMs();
      const result = await handle.result();
      return { result, skippedMs: (await env.currentTimeMs()) - startedAt, status: await handle.query(cycleStatusQuery) };
    });

    expect(outcome.result).toEqual({ stage: 'closed', eventsRecorded: 3, nextCycleId: cycleWorkflowId('national-ai', 2028) });
    expect(outcome.status.stage).toBe('closed');
    expect(outcome.skippedMs).toBeGreaterThanOrEqual(30 * 24 * 3600 * 1000);

    const events = await store.readStream(workflowId);
    expect(events.map((e) => [e.eventId, e.type])).toEqual([
      [`${workflowId}#1`, 'CallOpened'],
      [`${workflowId}#2`, 'CallClosed'],
      [`${workflowId}#3`, 'CycleClosed'],
    ]);
    expect(events[2].data).toMatchObject({ outcome: 'no_teams' });
    const opened = events[0].data as { openedAt: string; closesAt: string };
    expect(Date.parse(opened.closesAt) - Date.parse(opened.openedAt)).toBe(30 * 24 * 3600 * 1000);
    expect(Date.parse(events[1].occurredAt)).toBeGreaterThanOrEqual(Date.parse(opened.closesAt));
    expect(events[1].prevHash).toBe(events[0].hash);
    expect(await new ReadModels(database.db).cycle(workflowId)).toMatchObject({ stage: 'closed', year: 2027 });
  });
});
