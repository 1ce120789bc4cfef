import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { defaultPolicy, evolve, initialState, policyHash, type CycleEvent, type CycleState } from '@concentra/domain';
import { EventActivities, EventStore, PROJECTIONS } from '@concentra/persistence';
import { activitiesOf } from '@concentra/temporal';
import type { DataSource } from 'typeorm';
import { playToExtension } from '../../domain/src/cycle/testing';

import type { ScriptedCycleInput } from './workflows';

export const TEST_WORKFLOWS_PATH = join(__dirname, 'workflows', 'index.ts');

const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export function testWorkflowsBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: TEST_WORKFLOWS_PATH, logger: quiet });
  return bundle;
}

export const POLICY_HASH = policyHash(defaultPolicy);

/** The default policy's year, played by libs/domain up to the finalists' extension. */
export const playedYear = (): CycleEvent[] => playToExtension({ applicants: 6 }).events;

/** The events in batches, each with the stage the cycle is in after it (as the workflow records it, in metadata). */
export function scriptedInput(events: CycleEvent[], batchSize = 8, step = false): ScriptedCycleInput {
  let state: CycleState = initialState;
  const withStage = events.map((e) => {
    state = evolve(state, e);
    return { type: e.type, data: e.data as unknown as Record<string, unknown>, metadata: { stage: state.stage } };
  });
  const batches: ScriptedCycleInput['batches'] = [];
  for (let i = 0; i < withStage.length; i += batchSize) batches.push({ afterMs: 0, events: withStage.slice(i, i + batchSize) });
  return { metadata: { policyHash: POLICY_HASH, actor: { role: 'program_manager', subject: 'pm-1' } }, step, batches };
}

/** Writes the policy version the events name, as the API does when a program is created. */
export async function adoptDefaultPolicy(db: DataSource, slug: string): Promise<void> {
  await new EventStore(db, PROJECTIONS).append(`program:${slug}`, [
    {
      eventId: `program:${slug}#1`,
      type: 'ProgramCreated',
      data: { slug, name: `Program ${slug}`, policy: defaultPolicy as unknown as Record<string, unknown>, policyHash: POLICY_HASH },
      metadata: { actor: { role: 'program_manager', subject: 'pm-1' }, policyHash: POLICY_HASH },
      occurredAt: new Date().toISOString(),
    },
  ]);
}

export interface DevServerRun {
  client: Client;
  close(): Promise<void>;
  /** Runs the test workflows on a worker (real event activity on `db`) until `fn` resolves. */
  withWorker<T>(db: DataSource, taskQueue: string, fn: () => Promise<T>): Promise<T>;
}

export async function connectDevServer(address = process.env.TEST_TEMPORAL_ADDRESS): Promise<DevServerRun> {
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts)');
  const connection = await Connection.connect({ address });
  const native = await NativeConnection.connect({ address });
  const client = new Client({ connection });
  return {
    client,
    close: async () => {
      await connection.close();
      await native.close();
    },
    withWorker: async (db, taskQueue, fn) => {
      const worker = await Worker.create({
        connection: native,
        taskQueue,
        workflowBundle: await testWorkflowsBundle(),
        activities: activitiesOf(new EventActivities(new EventStore(db, PROJECTIONS))),
      });
      return worker.runUntil(fn);
    },
  };
}
