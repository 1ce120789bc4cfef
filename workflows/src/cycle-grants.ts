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
/** Cycles recorded before this start, signal and hear from their grants one at a time. */
export const FAN_OUT_PATCH = 'parallel-grant-fan-out';
/** How many grants are started (or signalled) in one go: one workflow task round trip each. */
const FAN_OUT_CHUNK = 32;
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
    carry: GrantsCarry | undefined,
    /** Under FAN_OUT_PATCH: grants started, signalled and heard from all at once (see `each`). */
    private readonly parallel: boolean,
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
      const first = this.inbox[0];
      if (first.kind === 'ended') {
        await this.takeEnded(first);
        this.inbox.shift();
        continue;
      }
      // A grant's own facts (started, withheld, served) ask nothing more of the cycle: under the
      // fan-out patch the reports waiting together are applied together (their records batched).
      const upTo = this.inbox.findIndex((r) => r.kind === 'ended');
      const facts = (this.parallel ? this.inbox.slice(0, upTo < 0 ? this.inbox.length : upTo) : [first]) as Array<Exclude<GrantReport, EndedReport>>;
      await this.each(facts, (report) => this.takeFact(report));
      this.inbox.splice(0, facts.length);
    }
  }

  private async takeFact(report: Exclude<GrantReport, EndedReport>): Promise<void> {
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
    } else {
      await this.applyIfStillValid({ type: 'RecordGpusServed', actor: SYSTEM, data: { applicationId: report.applicationId, grantId: report.grantId, served: report.served } });
    }
  }

  private async takeEnded(report: EndedReport): Promise<void> {
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

  /**
   * One after another, as cycles recorded before the fan-out patch did; else FAN_OUT_CHUNK at once
   * (the commands issued in the items' order), so no one workflow task carries them all: with 159
   * children started at once, that run of the bench had a 7.5 s workflow task on a loaded machine.
   */
  private async each<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    if (!this.parallel) {
      for (const item of items) await work(item);
      return;
    }
    for (let i = 0; i < items.length; i += FAN_OUT_CHUNK) await Promise.all(items.slice(i, i + FAN_OUT_CHUNK).map(work));
  }

  async reconcile(): Promise<void> {
    const state = this.state();
    const toStart = grantsToStart(state).filter((grant) => {
      if (this.started.has(grant.grantId)) return false;
      this.started.add(grant.grantId);
      this.extensionSent[grant.grantId] = grant.endsAt;
      this.gpusSent[grant.grantId] = canonicalJson(grant.gpus);
      return true;
    });
    // One after another, each start waited a workflow task round trip: 159 grants took a minute.
    await this.each(toStart, (grant) => this.startGrant(state, grant));
    if (state.stage !== 'not_started') {
      const extended = Object.values(state.grants).filter((grant) => {
        if (!(grant.status === 'active' && this.started.has(grant.grantId) && this.extensionSent[grant.grantId] !== grant.endsAt && grant.endsAt)) return false;
        this.extensionSent[grant.grantId] = grant.endsAt;
        this.gpusSent[grant.grantId] = canonicalJson(grant.gpus);
        return true;
      });
      await this.each(extended, (grant) => this.signal(grant.grantId, grant.applicationId, (h) => h.signal(extendGrantSignal, { until: grant.endsAt!, gpus: grant.gpus })));
      // A new amount (the program manager's, an evaluation round's) reaches a running or waiting grant.
      const changed = Object.values(state.grants).filter((grant) => {
        if (grant.status === 'ended' || !this.started.has(grant.grantId) || this.releaseSent.has(grant.grantId)) return false;
        const gpus = canonicalJson(grant.gpus);
        if (this.gpusSent[grant.grantId] === undefined || this.gpusSent[grant.grantId] === gpus) return false;
        this.gpusSent[grant.grantId] = gpus;
        return true;
      });
      await this.each(changed, (grant) => this.signal(grant.grantId, grant.applicationId, (h) => h.signal(grantGpusSignal, { gpus: grant.gpus })));
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
    const released = grantsToRelease(state).filter((grant) => {
      if (!this.started.has(grant.grantId)) return true;
      if (this.releaseSent.has(grant.grantId)) return false;
      this.releaseSent.add(grant.grantId);
      return true;
    });
    await this.each(released, async (grant) => {
      if (this.releaseSent.has(grant.grantId)) await this.signal(grant.grantId, grant.applicationId, (h) => h.signal(releaseGrantSignal, { reason: grant.reason }));
      else await this.apply({ type: 'RecordGrantEnded', actor: SYSTEM, data: { applicationId: grant.applicationId, grantId: grant.grantId, reason: grant.reason } });
    });
  }

  private async startGrant(state: CycleState, grant: ReturnType<typeof grantsToStart>[number]): Promise<void> {
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
