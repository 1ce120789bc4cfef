/**
 * What the SDK throws when workflow code signals a workflow that is not running, on the real test
 * server: an ApplicationFailure whose type names the cause. The cycle (a grant that is gone) and a
 * grant (a cycle between two runs) recognise it by that type, never by its wording.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { createTimeSkippingEnvironment } from '../../test/support/temporal';
import { EXTERNAL_WORKFLOW_NOT_FOUND } from '../src/external-workflows';
import type { signalMissing } from './probes/external-signal.workflows';

describe('a signal to a workflow that is not running', () => {
  let env: TestWorkflowEnvironment;
  beforeAll(async () => {
    env = await createTimeSkippingEnvironment();
  });
  afterAll(async () => env?.teardown());

  it('fails with an ApplicationFailure of the not-found type, for an id never used and for a closed workflow', async () => {
    const taskQueue = `external-signal-${randomUUID()}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowsPath: require.resolve('./probes/external-signal.workflows') });
    await worker.runUntil(async () => {
      const never = await env.client.workflow.execute<typeof signalMissing>('signalMissing', { taskQueue, workflowId: `probe-${randomUUID()}`, args: [`never-started-${randomUUID()}`] });
      expect(never).toEqual({ gone: true, name: 'ApplicationFailure', type: EXTERNAL_WORKFLOW_NOT_FOUND });
      // A workflow that has closed is as gone as one never started.
      const closedId = `probe-closed-${randomUUID()}`;
      await env.client.workflow.execute<typeof signalMissing>('signalMissing', { taskQueue, workflowId: closedId, args: [`never-started-${randomUUID()}`] });
      const closed = await env.client.workflow.execute<typeof signalMissing>('signalMissing', { taskQueue, workflowId: `probe-${randomUUID()}`, args: [closedId] });
      expect(closed).toEqual({ gone: true, name: 'ApplicationFailure', type: EXTERNAL_WORKFLOW_NOT_FOUND });
    });
  });
});
