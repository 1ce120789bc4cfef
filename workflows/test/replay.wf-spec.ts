import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { bundleWorkflowCode, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { EventActivities, EventStore } from '@concentra/persistence';
import { activitiesOf } from '@concentra/temporal';
import { replayHistories } from '@concentra/audit';
import { createTestDatabase } from '../../test/support/database';
import { historyFixturePath, loadHistoryFixture, loadHistoryFixtures, recordHistoryFixture } from '../../test/support/histories';
import { createTimeSkippingEnvironment } from '../../test/support/temporal';
import { workflowBundle } from '../../test/support/worker';
import type { SkeletonInput } from './nondeterministic/skeleton.workflows';

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
const bundleOf = (file: string) => bundleWorkflowCode({ workflowsPath: join(__dirname, 'nondeterministic', file), logger: quiet });

describe('recorded histories replay against the current workflow code', () => {
  it('every fixture under workflows/test/fixtures/histories replays clean', async () => {
    const fixtures = loadHistoryFixtures();
    if (fixtures.length === 0) {
      console.warn('no recorded histories yet under workflows/test/fixtures/histories: scenario tests record them with recordHistoryFixture()');
      return;
    }
    const report = await replayHistories(
      fixtures.map((f) => ({ workflowId: f.workflowId, runId: f.scenario, history: f.history })),
      { workflowBundle: await workflowBundle() },
    );
    expect(report.workflows).toHaveLength(fixtures.length);
    // On failure this names the scenario (runId) and the event where the code diverged.
    expect(report.workflows.filter((w) => !w.ok)).toEqual([]);
  });
});

describe('the replay guard fails a deliberately non-deterministic variant', () => {
  const dir = join(__dirname, 'fixtures', 'nondeterminism');
  const scenario = 'program-cycle-skeleton';
  let skeleton: WorkflowBundleWithSourceMap;

  beforeAll(async () => {
    skeleton = await bundleOf('skeleton.workflows.ts');
    if (!existsSync(historyFixturePath(scenario, dir))) await recordSkeleton(skeleton, dir, scenario);
  });

  it('the skeleton history replays clean against the code that wrote it', async () => {
    const fixture = loadHistoryFixture(historyFixturePath(scenario, dir));
    const report = await replayHistories([{ workflowId: fixture.workflowId, history: fixture.history }], { workflowBundle: skeleton });
    expect(report).toMatchObject({ ok: true, workflows: [{ workflowId: fixture.workflowId, ok: true }] });
  });

  it('the variant that starts its timer first fails with a DeterminismViolationError naming the diverging event', async () => {
    const fixture = loadHistoryFixture(historyFixturePath(scenario, dir));
    const report = await replayHistories([{ workflowId: fixture.workflowId, history: fixture.history }], { workflowBundle: await bundleOf('variant.workflows.ts') });
    expect(report.ok).toBe(false);
    const [outcome] = report.workflows;
    expect(outcome.divergence).toMatchObject({ kind: 'nondeterminism', errorName: 'DeterminismViolationError' });
    // The history's first command was the recordEvents activity (event 5); the variant starts a timer there.
    const scheduled = fixture.history.events!.find((e) => e.activityTaskScheduledEventAttributes)!;
    expect(outcome.divergence!.eventId).toBe(Number(scheduled.eventId));
    expect(outcome.divergence!.eventType).toBe('ACTIVITY_TASK_SCHEDULED');

    // The same through Worker.runReplayHistory directly: the SDK's own error type.
    await expect(Worker.runReplayHistory({ workflowBundle: await bundleOf('variant.workflows.ts') }, fixture.history, fixture.workflowId)).rejects.toMatchObject({
      name: 'DeterminismViolationError',
    });
  });
});

/** Runs the skeleton on the time-skipping server with the real event activity on a test database, and saves its history. */
async function recordSkeleton(bundle: WorkflowBundleWithSourceMap, dir: string, scenario: string): Promise<void> {
  const [env, database] = await Promise.all([createTimeSkippingEnvironment(), createTestDatabase()]);
  try {
    const worker = await Worker.create({
      connection: (env as TestWorkflowEnvironment).nativeConnection,
      namespace: env.namespace,
      taskQueue: 'replay-skeleton',
      workflowBundle: bundle,
      activities: activitiesOf(new EventActivities(new EventStore(database.db))),
    });
    const input: SkeletonInput = { programSlug: 'national-ai', year: 2027, policyHash: 'f'.repeat(64), startedBy: { role: 'program_manager', subject: 'pm-1' }, callMs: 30 * 24 * 3600 * 1000 };
    await worker.runUntil(async () => {
      const handle = await env.client.workflow.start('programCycle', { workflowId: 'cycle:national-ai:2027', taskQueue: 'replay-skeleton', args: [input] });
      await handle.result();
      await recordHistoryFixture(handle, scenario, { dir });
    });
  } finally {
    await env.teardown();
    await database.drop();
  }
}
