import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppEnvironment, projectRoot } from '@concentra/config';
import { connectionOptions } from './connection-options';
import { workerTracingInterceptors, workflowSinks } from './tracing';
import { bundleWorkflows } from './workflow-bundle';
import { deploymentOptions, promoteWhenPolling, type Promotion } from './worker-versioning';

/** The activities the worker serves, gathered by the app from the libs' providers. */
export abstract class WorkerActivities {
  abstract readonly activities: Record<string, (...args: never[]) => Promise<unknown>>;
}

/** Binds every method of an activity provider so the worker can call it detached. */
export function activitiesOf<T extends object>(provider: T): Record<string, (...args: never[]) => Promise<unknown>> {
  const names = Object.getOwnPropertyNames(Object.getPrototypeOf(provider)).filter(
    (name) => name !== 'constructor' && typeof (provider as Record<string, unknown>)[name] === 'function',
  );
  return Object.fromEntries(names.map((name) => [name, (provider as Record<string, (...a: never[]) => Promise<unknown>>)[name].bind(provider)]));
}

/**
 * The bundle the worker runs: WORKFLOW_BUNDLE_PATH, else in production the one `npm run build` wrote
 * (dist/workflow-bundle.js), so production never bundles at boot; elsewhere none (bundled at boot).
 */
export function prebuiltBundlePath(env: Pick<AppEnvironment, 'WORKFLOW_BUNDLE_PATH' | 'NODE_ENV'>): string | undefined {
  if (env.WORKFLOW_BUNDLE_PATH) return env.WORKFLOW_BUNDLE_PATH;
  return env.NODE_ENV === 'production' ? join(projectRoot(__dirname), 'dist', 'workflow-bundle.js') : undefined;
}

/** How late, at most, a running activity hears of its cancellation (see Worker.create below). */
export const HEARTBEAT_THROTTLE = '5 seconds';

/**
 * Hosts the Temporal worker inside the Nest application context: runs it once the app is up,
 * awaits its run loop, and drains it (in-flight activities finish) when the app shuts down.
 */
@Injectable()
export class WorkerHost implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerHost.name);
  private worker?: Worker;
  private connection?: NativeConnection;
  private running?: Promise<void>;
  private readonly stopping = new AbortController();
  private deployment?: { version: string; behavior: string; promotion: Promotion | 'pending' | 'by-operator'; reason?: string };

  constructor(
    @Inject(AppEnvironment) private readonly env: AppEnvironment,
    @Inject(WorkerActivities) private readonly registry: WorkerActivities,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const bundlePath = prebuiltBundlePath(this.env);
    if (bundlePath) this.logger.log(`workflow bundle ${bundlePath}`);
    this.connection = await NativeConnection.connect(connectionOptions(this.env));
    const bundle = bundlePath ? { codePath: bundlePath } : await bundleWorkflows();
    const workerDeploymentOptions = deploymentOptions(this.env, 'code' in bundle ? bundle.code : readFileSync(bundlePath!, 'utf8'));
    this.worker = await Worker.create({
      connection: this.connection,
      namespace: this.env.TEMPORAL_NAMESPACE,
      taskQueue: this.env.TEMPORAL_TASK_QUEUE,
      // A prebuilt bundle pins the code (a deploy ships one; a restart skips webpack).
      workflowBundle: bundle,
      workerDeploymentOptions,
      activities: this.registry.activities,
      interceptors: workerTracingInterceptors(),
      sinks: workflowSinks(),
      shutdownGraceTime: '30 seconds',
      // An activity learns it was cancelled only from a heartbeat's answer, and the SDK holds
      // heartbeats back for up to this long (60 s by default): an evaluation run whose round closed
      // would keep asking a team's endpoint for a minute. A few seconds costs one small call each.
      maxHeartbeatThrottleInterval: HEARTBEAT_THROTTLE,
    });
    this.running = this.worker.run().catch((error: Error) => {
      this.logger.error(`worker stopped: ${error.message}`, error.stack);
      process.exitCode = 1;
      throw error;
    });
    this.logger.log(`polling task queue '${this.env.TEMPORAL_TASK_QUEUE}' on ${this.env.TEMPORAL_ADDRESS}`);
    if (workerDeploymentOptions) this.declareVersion(workerDeploymentOptions.version, workerDeploymentOptions.defaultVersioningBehavior ?? 'AUTO_UPGRADE');
  }

  /** Logs the version it polls as and, unless an operator promotes versions, makes it current (in the background). */
  private declareVersion(version: { deploymentName: string; buildId: string }, behavior: string): void {
    const name = `${version.deploymentName}.${version.buildId}`;
    this.deployment = { version: name, behavior, promotion: this.env.WORKER_PROMOTE_ON_START ? 'pending' : 'by-operator' };
    this.logger.log(`worker deployment version ${name} (${behavior})`);
    if (!this.env.WORKER_PROMOTE_ON_START) return;
    void promoteWhenPolling(this.connection!, this.env.TEMPORAL_NAMESPACE, version, { signal: this.stopping.signal }).then(({ outcome, reason }) => {
      this.deployment = { ...this.deployment!, promotion: outcome, ...(reason ? { reason } : {}) };
      if (outcome === 'failed') this.logger.error(`could not make ${name} the current version: ${reason}`);
      else this.logger.log(outcome === 'current' ? `${name} is the current version` : `${name} stays behind: ${reason}`);
    });
  }

  /** The deployment version this worker polls as, and whether it is current (undefined with versioning off). */
  get versioning(): { version: string; behavior: string; promotion: string; reason?: string } | undefined {
    return this.deployment;
  }

  /** The worker's state for readiness: RUNNING means it polls its task queue. */
  get state(): string {
    return this.worker?.getState() ?? 'NOT_STARTED';
  }

  /** Its connection to Temporal, for readiness. */
  get nativeConnection(): NativeConnection | undefined {
    return this.connection;
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    if (this.worker && this.worker.getState() === 'RUNNING') this.worker.shutdown();
    await this.running?.catch(() => undefined);
    await this.connection?.close();
  }
}
