import { Worker, type WorkerOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflows, workflowSinks } from '@concentra/temporal';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

/** The real workflow bundle (webpack, same aliases as production), built once per test file. */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflows();
  return bundle;
}

/** A worker on a test environment with the real activities the caller hands in. */
export async function createTestWorker(
  env: TestWorkflowEnvironment,
  activities: object,
  taskQueue: string,
  bundle?: WorkflowBundleWithSourceMap,
  options: Partial<WorkerOptions> = {},
): Promise<Worker> {
  return Worker.create({
    ...options,
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle: bundle ?? (await workflowBundle()),
    activities,
    sinks: workflowSinks(),
  });
}
