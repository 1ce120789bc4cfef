import { ApplicationFailure, ParentClosePolicy, getExternalWorkflowHandle, patched, startChild } from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { canonicalJson, grantsToRelease, grantsToRestore, grantsToSanction, grantsToStart, mendUnstorable, refusalRetryFor, shareFreedGpus, type CycleCommand, type CycleState, type GrantStage } from '@concentra/domain';
import {
  capacityFreedSignal,
  extendGrantSignal,
  grantGpusSignal,
  grantPingSignal,
  grantSanctionSignal,
  reallocateGpusSignal,
  releaseGrantSignal,
  type CycleTuning,
  type GrantReport,
} from './contracts';
import { computeGrant } from './compute-grant.workflow';
import { isWorkflowGone } from './external-workflows';
import { gpu } from './gpu';

/** What the grant side of a cycle hands the next run across continue-as-new. */
export interface GrantsCarry {
  startedGrants: string[];
  releaseSent: string[];
  extensionSent: Record<string, string | null>;
  /** The GPU amount each started grant was last sent (canonical JSON); absent in older carries. */
  gpusSent?: Record<string, string>;
  /** The mode each grant was last told a missing report put it in (issue 15); absent in older carries. */
  sanctionsSent?: Record<string, string>;
  inbox: GrantReport[];
}

const SYSTEM = { role: 'system' as const, subject: 'workflow' };
type EndedReport = Extract<GrantReport, { kind: 'ended' }>;


/**
 * The cycle's side of its grants: starts one child per awardee, sends extensions and releases,
 * turns the children's reports into recorded facts, and notices a child that ended without
 * reporting (terminated, failed, timed out), so the cycle never waits on a grant that is gone.
 */
export class CycleGrants {
  readonly inbox: GrantReport[];
  private readonly started: Set<string>;
  private readonly releaseSent: Set<string>;
  private readonly extensionSent: Record<string, string | null>;
  private readonly gpusSent: Record<string, string>;
  private readonly sanctionsSent: Record<string, string>;

  constructor(
    private readonly cycleId: string,
    private readonly state: () => CycleState,
    private readonly apply: (command: CycleCommand) => Promise<unknown>,
    private readonly tuning: CycleTuning | undefined,
    carry?: GrantsCarry,
  ) {
    this.inbox = [...(carry?.inbox ?? [])];
    this.started = new Set(carry?.startedGrants ?? []);
    this.releaseSent = new Set(carry?.releaseSent ?? []);
    this.extensionSent = { ...carry?.extensionSent };
    this.gpusSent = { ...carry?.gpusSent };
    this.sanctionsSent = { ...carry?.sanctionsSent };
  }

  carry(): GrantsCarry {
    return { startedGrants: [...this.started], releaseSent: [...this.releaseSent], extensionSent: this.extensionSent, gpusSent: this.gpusSent, ...(Object.keys(this.sanctionsSent).length > 0 ? { sanctionsSent: this.sanctionsSent } : {}), inbox: this.inbox };
  }

  /** Grants the cycle has asked to release and not yet heard from. */
  awaitingRelease(): string[] {
    const state = this.state();
    if (state.stage === 'not_started') return [];
    return [...this.releaseSent].filter((id) => Object.values(state.grants).some((g) => g.grantId === id && g.status !== 'ended'));
  }

  async drainInbox(): Promise<void> {
    while (this.inbox.length > 0) {
      const report = this.inbox[0];
      if (report.kind === 'started') {
        await this.applyIfStillValid({ type: 'RecordGrantStarted', actor: SYSTEM, data: { applicationId: report.applicationId, grantId: report.grantId, allocationId: report.allocationId } });
      } else if (report.kind === 'withheld') {
        const w = report.withheld;
        await this.applyIfStillValid({
          type: 'RecordGpusWithheld',
          actor: SYSTEM,
          data: { applicationId: report.applicationId, grantId: report.grantId, ...w, reason: mendUnstorable(w.reason), message: mendUnstorable(w.message) },
        });
      } else if (report.kind === 'refused_change') {
        const { kind: _kind, message, ...refused } = report;
        await this.applyIfStillValid({ type: 'RecordLedgerRefusal', actor: SYSTEM, data: { ...refused, message: mendUnstorable(message) } });
      } else if (report.kind === 'served') {
        await this.applyIfStillValid({ type: 'RecordGpusServed', actor: SYSTEM, data: { applicationId: report.applicationId, grantId: report.grantId, served: report.served } });
      } else {
        const ended = report.reclaim ? await this.reclaim(report) : report;
        await this.applyIfStillValid({
          type: 'RecordGrantEnded',
          actor: SYSTEM,
          // The reason may carry an error message: it must be recordable, or the end is never recorded.
          data: { applicationId: ended.applicationId, grantId: ended.grantId, reason: mendUnstorable(ended.reason), ...(ended.gpuHoursUsed === null ? {} : { gpuHoursUsed: ended.gpuHoursUsed }) },
        });
        await this.offerFreedGpus(ended);
        await this.tellWaitingGrants(ended);
      }
      this.inbox.shift();
    }
  }

  async reconcile(): Promise<void> {
    const state = this.state();
    for (const grant of grantsToStart(state)) {
      if (this.started.has(grant.grantId)) continue;
      this.started.add(grant.grantId);
      this.extensionSent[grant.grantId] = grant.endsAt;
      this.gpusSent[grant.grantId] = canonicalJson(grant.gpus);
      const policy = state.stage === 'not_started' ? null : state.policy;
      const retryFor = policy ? refusalRetryFor(policy) : null;
      const partial = policy?.stages.find((st): st is GrantStage => st.kind === 'grant')?.acceptPartialAtLeast;
      try {
        const child = await startChild(computeGrant, {
          workflowId: grant.grantId,
          args: [
            {
              cycleId: this.cycleId,
              grantId: grant.grantId,
              applicationId: grant.applicationId,
              organisationId: grant.organisationId,
              gpus: grant.gpus,
              endsAt: grant.endsAt,
              ...(this.tuning?.grantMeteringInterval ? { meteringInterval: this.tuning.grantMeteringInterval } : {}),
              ...(retryFor ? { retryFor } : {}),
              ...(partial ? { acceptPartialAtLeast: partial } : {}),
            },
          ],
          // Grants outlive a continue-as-new of the cycle; they report back by signal.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
        // While this run lasts, a child that fails, times out or is terminated is heard at once.
        child.result().catch((error: unknown) => this.endedWithoutReport(grant.grantId, grant.applicationId, describeFailure(error)));
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    }
    if (state.stage !== 'not_started') {
      for (const grant of Object.values(state.grants)) {
        if (grant.status === 'active' && this.started.has(grant.grantId) && this.extensionSent[grant.grantId] !== grant.endsAt && grant.endsAt) {
          this.extensionSent[grant.grantId] = grant.endsAt;
          this.gpusSent[grant.grantId] = canonicalJson(grant.gpus);
          await this.signal(grant.grantId, grant.applicationId, (h) => h.signal(extendGrantSignal, { until: grant.endsAt!, gpus: grant.gpus }));
        }
      }
      // A new amount (the program manager's, an evaluation round's) reaches a running or waiting grant.
      for (const grant of Object.values(state.grants)) {
        if (grant.status === 'ended' || !this.started.has(grant.grantId) || this.releaseSent.has(grant.grantId)) continue;
        const gpus = canonicalJson(grant.gpus);
        if (this.gpusSent[grant.grantId] === undefined || this.gpusSent[grant.grantId] === gpus) continue;
        this.gpusSent[grant.grantId] = gpus;
        await this.signal(grant.grantId, grant.applicationId, (h) => h.signal(grantGpusSignal, { gpus: grant.gpus }));
      }
      // Issue 15: a missing report's throttle or suspension reaches the running grant, once per mode.
      for (const g of grantsToSanction(state)) {
        if (!this.started.has(g.grantId) || this.releaseSent.has(g.grantId) || this.sanctionsSent[g.grantId] === g.mode || !patched('grant-milestones')) continue;
        this.sanctionsSent[g.grantId] = g.mode;
        await this.signal(g.grantId, g.applicationId, (h) => h.signal(grantSanctionSignal, { mode: g.mode }));
      }
      // A late report lifted a throttle or suspension this cycle had sent: the grant goes back to normal.
      for (const g of grantsToRestore(state)) {
        const sent = this.sanctionsSent[g.grantId];
        if (!this.started.has(g.grantId) || this.releaseSent.has(g.grantId) || (sent !== 'throttled' && sent !== 'suspended') || !patched('grant-sanction-lift')) continue;
        this.sanctionsSent[g.grantId] = 'normal';
        await this.signal(g.grantId, g.applicationId, (h) => h.signal(grantSanctionSignal, { mode: 'normal', reportId: g.reportId }));
      }
    }
    for (const grant of grantsToRelease(state)) {
      if (!this.started.has(grant.grantId)) {
        await this.apply({ type: 'RecordGrantEnded', actor: SYSTEM, data: { applicationId: grant.applicationId, grantId: grant.grantId, reason: grant.reason } });
        continue;
      }
      if (this.releaseSent.has(grant.grantId)) continue;
      this.releaseSent.add(grant.grantId);
      await this.signal(grant.grantId, grant.applicationId, (h) => h.signal(releaseGrantSignal, { reason: grant.reason }));
    }
  }

  /** Asks each grant still owing its report whether it is there; one that is gone is recorded as ended. */
  async checkAwaited(): Promise<void> {
    const state = this.state();
    if (state.stage === 'not_started') return;
    for (const grantId of this.awaitingRelease()) {
      const grant = Object.values(state.grants).find((g) => g.grantId === grantId)!;
      await this.signal(grantId, grant.applicationId, (h) => h.signal(grantPingSignal));
    }
  }

  /**
   * When the pool policy says freed GPUs go to the remaining grants, a team that leaves mid-program
   * (withdrawn or eliminated) has its GPUs split evenly among the grants still running.
   */
  private async offerFreedGpus(report: EndedReport): Promise<void> {
    if (report.reallocation !== 'to_remaining_grants' || !report.freed) return;
    const { freed } = report;
    for (const share of shareFreedGpus(this.state(), { grantId: report.grantId, reason: report.reason, count: freed.count })) {
      // A grant this cycle has not started, or is already releasing, takes nothing.
      if (!this.started.has(share.grantId) || this.releaseSent.has(share.grantId)) continue;
      const applicationId = this.applicationOf(share.grantId);
      await this.signal(share.grantId, applicationId, (h) => h.signal(reallocateGpusSignal, { from: report.grantId, share: { ...freed, count: share.count } }));
    }
  }

  /**
   * GPUs given back by a grant that ended reach the grants waiting for capacity (refused, or served
   * in part, with the policy `onRefusal: retry_until`): each asks the pool again.
   */
  private async tellWaitingGrants(report: EndedReport): Promise<void> {
    if (!report.freed) return;
    const state = this.state();
    if (state.stage === 'not_started') return;
    for (const grant of Object.values(state.grants)) {
      if (grant.grantId === report.grantId || grant.status === 'ended' || !grant.withheld?.retrying) continue;
      if (!this.started.has(grant.grantId) || this.releaseSent.has(grant.grantId)) continue;
      await this.signal(grant.grantId, grant.applicationId, (h) => h.signal(capacityFreedSignal, { from: report.grantId, share: report.freed! }));
    }
  }

  /** A grant's report may arrive after the cycle already moved past it (e.g. started, then cut): that is fine. */
  private async applyIfStillValid(command: CycleCommand): Promise<void> {
    try {
      await this.apply(command);
    } catch (error) {
      if (!(error instanceof ApplicationFailure && error.type === 'DomainError')) throw error;
    }
  }

  /** A signal that finds no running grant means the grant has closed; if it never said so, say it for it. */
  private async signal(grantId: string, applicationId: string, send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>): Promise<void> {
    try {
      await send(getExternalWorkflowHandle(grantId));
    } catch (error) {
      if (!isWorkflowGone(error)) throw error;
      this.endedWithoutReport(grantId, applicationId, 'grant workflow closed without reporting its end');
    }
  }

  /**
   * Queues the 'ended' report a gone grant could not send, unless one is already known. Its GPUs
   * are given back under the grant's own release key, so a release the grant did make is not doubled.
   */
  private endedWithoutReport(grantId: string, applicationId: string, reason: string): void {
    const state = this.state();
    const ended = state.stage !== 'not_started' && Object.values(state.grants).some((g) => g.grantId === grantId && g.status === 'ended');
    if (ended || this.inbox.some((r) => r.kind === 'ended' && r.grantId === grantId)) return;
    this.inbox.push({ kind: 'ended', applicationId, grantId, reason, gpuHoursUsed: null, reclaim: true });
  }

  /** Gives back what a grant that ended without reporting still held (a no-op when it did release). */
  private async reclaim(report: EndedReport): Promise<EndedReport> {
    const released = await gpu.releaseGrant({ idempotencyKey: `${report.grantId}#release`, grantId: report.grantId, reason: 'failed' });
    if (!released.released) return report;
    return {
      ...report,
      gpuHoursUsed: released.gpuMinutesUsed / 60,
      ...(released.freed ? { freed: { capacityId: released.freed.capacityId, type: released.freed.type, count: released.freed.count }, reallocation: released.reallocation } : {}),
    };
  }

  private applicationOf(grantId: string): string {
    const state = this.state();
    return state.stage === 'not_started' ? '' : (Object.values(state.grants).find((g) => g.grantId === grantId)?.applicationId ?? '');
  }
}

function describeFailure(error: unknown): string {
  const cause = error instanceof Error && 'cause' in error && error.cause instanceof Error ? error.cause : error;
  const name = cause instanceof Error ? cause.name.replace(/Failure$/, '').toLowerCase() : 'failed';
  return `grant workflow ${name === 'terminated' || name === 'timeout' ? name : 'failed'}: ${cause instanceof Error ? cause.message : String(cause)}`;
}
