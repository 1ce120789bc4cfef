import { WorkflowNotFoundError } from '@temporalio/client';
import { pause, type PhaseResult } from './scale-api';
import { measureHistory } from './scale-history';
import type { ScaleStack } from './scale-stack';

/**
 * Watching the cycle during a scale run (bench/scale-call.ts): bounded waits on a condition with
 * the cycle's own history as the sign of life, and what it is stuck on when it stops moving.
 */

export interface Diagnosis {
  runId: string;
  status: string;
  historyLength: number;
  pendingWorkflowTask: string | null;
  pendingActivities: string[];
  lastWorkflowTaskFailure: string | null;
  workerErrors: string[];
}

export class Wedged extends Error {
  constructor(
    message: string,
    readonly diagnosis: Diagnosis,
  ) {
    super(message);
  }
}

/** A phase that stalled, or that the API answered with 5xx, means the cycle is not taking commands: diagnose it there. */
export async function stopOnServerErrors(phase: PhaseResult, watch: Watch): Promise<void> {
  const serverErrors = [...phase.failures].filter(([reason]) => /^(5\d\d|no answer)/.test(reason)).reduce((n, [, c]) => n + c, 0);
  if (phase.stalled) throw new Wedged(`${phase.name} stopped: ${phase.stalled}`, await watch.diagnose());
  if (serverErrors > 0) throw new Wedged(`${phase.name}: ${serverErrors} of ${phase.planned} answered with a server error`, await watch.diagnose());
}

/** Bounded waits on a condition, with the cycle's own history as the sign of life. */
export class Watch {
  private lastSign = '';
  private lastProgressAt = Date.now();

  constructor(
    private readonly stack: ScaleStack,
    private readonly cycleId: string,
    private readonly stallMs: number,
  ) {}

  /**
   * Polls `probe` every second until it holds. Wedged when: the workflow task has failed three
   * times in a row; or the history (and `progress`) has not moved for the stall bound once `quietMs`
   * (a timer the cycle legitimately waits for) has passed; or `timeoutMs` runs out.
   */
  async until(what: string, probe: () => Promise<boolean>, timeoutMs: number, quietMs = 0, progress: () => unknown = () => null): Promise<{ what: string; seconds: number }> {
    const start = Date.now();
    this.lastProgressAt = Date.now();
    let lastProgress = progress();
    for (let i = 0; ; i++) {
      if (await probe().catch(() => false)) return { what, seconds: (Date.now() - start) / 1000 };
      if (i % 3 === 0) {
        const d = await this.describe();
        if (d) {
          const sign = `${d.runId}:${d.historyLength}`;
          if (sign !== this.lastSign) {
            this.lastSign = sign;
            this.lastProgressAt = Date.now();
          }
          if (d.workflowTaskAttempt >= 3) throw new Wedged(`waiting for ${what}: the workflow task failed ${d.workflowTaskAttempt - 1} times in a row`, await this.diagnose());
          if (d.status !== 'RUNNING') throw new Wedged(`waiting for ${what}: the cycle's workflow is ${d.status}`, await this.diagnose());
        }
      }
      const p = progress();
      if (p !== lastProgress) {
        lastProgress = p;
        this.lastProgressAt = Date.now();
      }
      const now = Date.now();
      // A quiet period (waiting for a deadline) is not a stall: the stall bound counts from its end.
      const movedAt = Math.max(this.lastProgressAt, start + quietMs);
      if (now - movedAt > this.stallMs) {
        throw new Wedged(`waiting for ${what}: no progress for ${Math.round((now - movedAt) / 1000)} s`, await this.diagnose());
      }
      if (now - start > timeoutMs) throw new Wedged(`waiting for ${what}: gave up after ${Math.round(timeoutMs / 1000)} s`, await this.diagnose());
      await pause(1_000);
    }
  }

  private async describe(): Promise<{ runId: string; historyLength: number; status: string; workflowTaskAttempt: number } | null> {
    try {
      const d = await this.stack.client.workflow.getHandle(this.cycleId).describe();
      return { runId: d.runId, historyLength: d.historyLength, status: d.status.name, workflowTaskAttempt: d.raw.pendingWorkflowTask?.attempt ?? 0 };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    }
  }

  /** What the cycle's workflow is stuck on: describe(), the last workflow task failure in its history, the worker's errors. */
  async diagnose(): Promise<Diagnosis> {
    const diagnosis: Diagnosis = { runId: '?', status: '?', historyLength: 0, pendingWorkflowTask: null, pendingActivities: [], lastWorkflowTaskFailure: null, workerErrors: this.stack.worker.errorLines() };
    try {
      const handle = this.stack.client.workflow.getHandle(this.cycleId);
      const d = await handle.describe();
      diagnosis.runId = d.runId;
      diagnosis.status = d.status.name;
      diagnosis.historyLength = d.historyLength;
      const wft = d.raw.pendingWorkflowTask;
      if (wft) diagnosis.pendingWorkflowTask = `attempt ${wft.attempt ?? 1}, state ${String(wft.state)}, scheduled ${wft.scheduledTime ? new Date(Number(wft.scheduledTime.seconds) * 1000).toISOString() : '?'}`;
      diagnosis.pendingActivities = (d.raw.pendingActivities ?? []).map(
        (a) => `${a.activityType?.name ?? '?'} attempt ${a.attempt ?? 1}${a.lastFailure?.message ? `: ${a.lastFailure.message.slice(0, 300)}` : ''}`,
      );
      const history = await this.stack.client.workflow.getHandle(this.cycleId, d.runId).fetchHistory();
      diagnosis.lastWorkflowTaskFailure = measureHistory(this.cycleId, d.runId, history).lastWorkflowTaskFailure?.slice(0, 600) ?? null;
    } catch (error) {
      diagnosis.status = `describe failed: ${(error as Error).message}`;
    }
    return diagnosis;
  }
}
