import { createHash } from 'node:crypto';
import type { NativeConnection, WorkerDeploymentOptions } from '@temporalio/worker';
import { workerVersioning, type AppEnvironment } from '@concentra/config';

/** A build id from the workflow code itself: two workers with the same bundle are the same version. */
export function bundleBuildId(code: string): string {
  return `bundle-${createHash('sha256').update(code).digest('hex').slice(0, 16)}`;
}

/**
 * Worker Deployment Versioning: the worker polls as version `<deployment>.<build id>` and the server
 * routes each workflow's tasks to a version that can run it. `auto-upgrade`: running workflows move
 * to the current version on their next task (our code keeps old histories replaying with
 * `patched()`, and the replay test holds it to that); `pinned`: a workflow stays on the version it
 * started on until it ends, so the old version's workers must run until it drains. Off: no
 * deployment, every worker of the task queue takes every task.
 */
export function deploymentOptions(
  env: Pick<AppEnvironment, 'WORKER_VERSIONING' | 'NODE_ENV' | 'WORKER_DEPLOYMENT_NAME' | 'WORKER_BUILD_ID'>,
  bundleCode: string,
): WorkerDeploymentOptions | undefined {
  const mode = workerVersioning(env);
  if (mode === 'off') return undefined;
  return {
    version: { deploymentName: env.WORKER_DEPLOYMENT_NAME, buildId: env.WORKER_BUILD_ID ?? bundleBuildId(bundleCode) },
    useWorkerVersioning: true,
    defaultVersioningBehavior: mode === 'pinned' ? 'PINNED' : 'AUTO_UPGRADE',
  };
}

export type Promotion = 'current' | 'newer-is-current' | 'failed';

/**
 * Makes this worker's version the deployment's current one, once the server has seen it poll
 * (until then the version does not exist), unless a newer version (first seen after ours) already
 * is: a new release promotes itself, an old worker restarting during a rollout does not take the
 * place back. Without a current version no versioned task would be routed at all, so `npm start`
 * and a single-worker deploy need nothing more; an operator who ramps by hand sets
 * WORKER_PROMOTE_ON_START=false and uses `temporal worker deployment set-current-version`.
 */
export async function promoteWhenPolling(
  connection: NativeConnection,
  namespace: string,
  version: { deploymentName: string; buildId: string },
  options: { timeoutMs?: number; identity?: string; signal?: AbortSignal } = {},
): Promise<{ outcome: Promotion; reason?: string }> {
  const service = connection.workflowService;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let last = 'the server has not seen this version poll yet';
  while (Date.now() < deadline && !options.signal?.aborted) {
    try {
      const { workerDeploymentInfo: info } = await service.describeWorkerDeployment({ namespace, deploymentName: version.deploymentName });
      const summaries = info?.versionSummaries ?? [];
      const ours = summaries.find((s) => s.deploymentVersion?.buildId === version.buildId);
      if (ours) {
        const current = info?.routingConfig?.currentDeploymentVersion?.buildId;
        if (current === version.buildId) return { outcome: 'current' };
        const currentSummary = summaries.find((s) => s.deploymentVersion?.buildId === current);
        if (currentSummary && seconds(currentSummary.createTime) > seconds(ours.createTime)) return { outcome: 'newer-is-current', reason: `${current} is newer` };
        await service.setWorkerDeploymentCurrentVersion({ namespace, deploymentName: version.deploymentName, buildId: version.buildId, identity: options.identity ?? 'concentra-worker' });
        return { outcome: 'current' };
      }
    } catch (error) {
      last = (error as Error).message; // NOT_FOUND until the deployment exists
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return { outcome: 'failed', reason: last };
}

function seconds(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  return Number(timestamp?.seconds ?? 0) + (timestamp?.nanos ?? 0) / 1e9;
}
