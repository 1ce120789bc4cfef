import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ChangeGrantInput, ChangeGrantResult, GpuRefusal } from '@concentra/gpu';
import { addDuration, gpuLimitFor, joinsGrant, type GpuAllocation } from '@concentra/domain';
import {
  capacityFreedSignal,
  extendGrantSignal,
  grantGpusSignal,
  grantPingSignal,
  grantReportSignal,
  grantSanctionSignal,
  grantStatusQuery,
  reallocateGpusSignal,
  releaseGrantSignal,
  type GpuShare,
  type GrantCarry,
  type GrantInput,
  type GrantReport,
  type GpuWithheld,
} from './contracts';
import { isWorkflowGone } from './external-workflows';
import { compactRefusal, ledgerRefusal } from './grant-refusals';
import { gpu } from './gpu';
import { notifications } from './notify';


/** How often usage is pulled from the scheduler's accounting into the ledger (GrantInput.meteringInterval may change it). */
const METERING_INTERVAL: Duration = '1 day';
const METERINGS_PER_RUN = 200;
/** How long a grant keeps trying to reach a cycle that is between runs (a durable timer, not a wait in a test). */
const REPORT_ATTEMPTS = 30;
const REPORT_RETRY_INTERVAL = '2 seconds';
/** A grant waiting for capacity also asks again on this timer, besides when the cycle says capacity freed. */
const PROVISION_RETRY_INTERVAL: Duration = '1 day';

export interface GrantOutcome {
  grantId: string;
  allocationId: string | null;
  releaseReason: string;
  gpuHoursUsed: number | null;
}

/**
 * One awardee's compute grant, `grant:<program>:<year>:<team>`: provisions GPUs from the pool,
 * meters their use daily (thresholds warn, throttle or suspend), takes extensions, and when the
 * cycle releases it — ended, cut by a narrowing, withdrawn or cancelled — gives the GPUs back in a
 * scope nothing can cancel. It tells the cycle by signal when it starts and when it has ended.
 */
export async function computeGrant(input: GrantInput, carry?: GrantCarry): Promise<GrantOutcome> {
  const { grantId } = input;
  let allocationId = carry?.allocationId ?? null;
  let releaseReason: string | null = carry?.releaseReason ?? null;
  let endsAt = carry?.endsAt ?? input.endsAt;
  let gpus = carry?.gpus ?? input.gpus;
  let extensions = carry?.extensions ?? 0;
  let changes = carry?.changes ?? 0;
  let meterings = carry?.meterings ?? 0;
  const meteringsAtStart = meterings;
  let gpuHoursUsed = 0;
  const pendingExtensions: { until: string; gpus: GpuAllocation[] }[] = [];
  let gpuChanges = carry?.gpuChanges ?? 0;
  let topUps = carry?.topUps ?? 0;
  /** GPUs still owed to a partly served grant (or refused on a raise), in the served type. */
  let shortfall = carry?.shortfall ?? 0;
  /** A new amount for the team (the program manager's, an evaluation round's), not yet applied. */
  let pendingGpus: GpuAllocation[] | null = null;
  let capacityFreed = false;
  let served: GpuShare | null = carry?.served ?? null;
  let reallocations = carry?.reallocations ?? 0;
  /**
   * GPUs this grant took over from teams that left (pool policy `to_remaining_grants`): they come on
   * top of the team's amount, so a later amount (an extension's `gpusPerFinalist`, the program
   * manager's) keeps them whichever signal arrives first.
   */
  let received = carry?.received ?? 0;
  const offered: { from: string; share: GpuShare }[] = [];
  let continuing = false;
  let reported = false;
  /** Issue 15: the mode a missing report's consequence put the allocation in, and one the cycle asked for, not yet applied. */
  let sanction = carry?.sanction ?? null;
  let pendingSanction: { mode: 'throttled' | 'suspended' | 'normal'; reportId?: string } | null = null;
  /** Sanctions lifted by a late report (`grant-sanction-lift`): a later throttle or suspension takes a key of its own. */
  let lifts = carry?.lifts ?? 0;

  setHandler(releaseGrantSignal, ({ reason }) => void (releaseReason ??= reason));
  setHandler(extendGrantSignal, ({ until, gpus: newGpus }) => {
    pendingExtensions.push({ until, gpus: newGpus });
    gpus = newGpus;
  });
  setHandler(grantGpusSignal, ({ gpus: newGpus }) => {
    gpus = newGpus;
    pendingGpus = newGpus;
  });
  setHandler(capacityFreedSignal, () => void (capacityFreed = true));
  setHandler(reallocateGpusSignal, (offer) => void offered.push(offer));
  setHandler(grantPingSignal, () => undefined);
  setHandler(grantSanctionSignal, (sanctionChange) => void (pendingSanction = sanctionChange));
  setHandler(grantStatusQuery, () => ({ allocationId, endsAt, releaseReason, gpuHoursUsed }));

  try {
    if (!allocationId && !releaseReason) {
      if (!(await provision())) return { grantId, allocationId: null, releaseReason: releaseReason ?? 'failed', gpuHoursUsed: null };
      await report({ kind: 'started', applicationId: input.applicationId, grantId, allocationId: allocationId! });
      if (shortfall > 0 && served) {
        await withheld({
          kind: 'partial',
          reason: 'insufficient_capacity',
          message: `served ${served.count} of the ${served.count + shortfall} ${served.type} GPUs asked for; the rest when capacity frees`,
          rule: 'capacity',
          retryable: true,
          retrying: !!input.retryFor,
          policyVersion: null,
          capacity: [],
          served: served.count,
          asked: served.count + shortfall,
        });
      }
    }

    while (!releaseReason) {
      if (meterings - meteringsAtStart >= METERINGS_PER_RUN || workflowInfo().continueAsNewSuggested) {
        continuing = true; // the allocation carries over to the next run: nothing to release
        return await continueAsNew<typeof computeGrant>(input, { allocationId, served, reallocations, received, gpuChanges, topUps, shortfall, extensions, meterings, changes, releaseReason, endsAt, gpus, ...(sanction ? { sanction } : {}), ...(lifts > 0 ? { lifts } : {}) });
      }
      const signalled = await condition(
        () => releaseReason !== null || pendingExtensions.length > 0 || offered.length > 0 || pendingGpus !== null || (capacityFreed && shortfall > 0) || pendingSanction !== null,
        (input.meteringInterval as Duration | undefined) ?? METERING_INTERVAL,
      );
      while (offered.length > 0 && !releaseReason) {
        const { share } = offered.shift()!;
        // Which freed GPUs may join this grant is the domain's rule (same capacity); the rest stay in the pool.
        if (!served || !joinsGrant(served, share)) continue;
        reallocations += 1;
        const changed = await change('reallocation', { idempotencyKey: `${grantId}#realloc-${reallocations}`, grantId, limits: { gpus: served.count + share.count } });
        if (changed?.outcome === 'changed') {
          served = { ...served, count: served.count + share.count };
          received += share.count;
        }
      }
      while (pendingExtensions.length > 0 && !releaseReason) {
        const extension = pendingExtensions.shift()!;
        extensions += 1;
        // The extension carries the finalist's amount (`gpusPerFinalist`): window and limit change together.
        const amount = served ? gpuLimitFor(extension.gpus, served) : null;
        const limit = amount === null ? null : amount + received;
        const withLimit = served && limit !== null && limit !== served.count ? limit : null;
        const changed = await change('extension', {
          idempotencyKey: `${grantId}#extend-${extensions}`,
          grantId,
          extendTo: extension.until,
          ...(withLimit !== null ? { limits: { gpus: withLimit } } : {}),
        });
        if (changed?.outcome === 'changed') {
          endsAt = extension.until;
          if (withLimit !== null) setServed(withLimit);
        } else if (changed) {
          await withheldChange(changed.refusal, withLimit);
          if (withLimit !== null) {
            // The extension itself still stands: the window moves without the new limit.
            const windowOnly = await change('extension window', { idempotencyKey: `${grantId}#extend-${extensions}-window`, grantId, extendTo: extension.until });
            if (windowOnly?.outcome === 'changed') endsAt = extension.until;
          }
        }
      }
      if (pendingGpus && !releaseReason && served) {
        const limit = gpuLimitFor(pendingGpus, served) + received;
        pendingGpus = null;
        if (limit !== served.count) {
          gpuChanges += 1;
          const changed = await change('GPU amount', { idempotencyKey: `${grantId}#gpus-${gpuChanges}`, grantId, limits: { gpus: limit } });
          if (changed?.outcome === 'changed') setServed(limit);
          else if (changed) await withheldChange(changed.refusal, limit);
        } else shortfall = 0;
      }
      if (capacityFreed && shortfall > 0 && !releaseReason && served && input.retryFor) {
        capacityFreed = false;
        topUps += 1;
        const target = served.count + shortfall;
        const changed = await change('top-up', { idempotencyKey: `${grantId}#topup-${topUps}`, grantId, limits: { gpus: target } });
        if (changed?.outcome === 'changed') {
          setServed(target);
          await report({ kind: 'served', applicationId: input.applicationId, grantId, served: target });
        }
      }
      capacityFreed = false;
      if (pendingSanction && !releaseReason) {
        // A missing report throttles or suspends the grant through the ledger, once per mode (the key is the step's).
        const { mode, reportId } = pendingSanction;
        pendingSanction = null;
        if (mode === 'normal') {
          // A late report lifted it: back to normal, once per report that lifted it (`grant-sanction-lift`).
          if (sanction && patched('grant-sanction-lift')) {
            const changed = await change('restoration', { idempotencyKey: `${grantId}#report-restore-${reportId}`, grantId, mode });
            if (changed?.outcome === 'changed') [sanction, lifts] = [null, lifts + 1];
          }
        } else if (mode !== sanction && patched('grant-milestones')) {
          const key = lifts > 0 ? `${grantId}#report-${mode}-after-${lifts}` : `${grantId}#report-${mode}`;
          const changed = await change(mode === 'throttled' ? 'throttle' : 'suspension', { idempotencyKey: key, grantId, mode });
          if (changed?.outcome === 'changed') sanction = mode;
        }
      }
      if (!signalled && !releaseReason) {
        meterings += 1;
        const usage = await gpu.meterUsage({ idempotencyKey: `${grantId}#meter-${meterings}`, grantId });
        gpuHoursUsed = usage.gpuHoursUsed;
        for (const threshold of usage.newlyCrossed) {
          await notifications.enqueueNotification({
            key: `${grantId}:usage:${threshold.atFraction}`,
            cycleId: input.cycleId,
            kind: 'gpu_usage',
            recipient: { role: 'applicant', organisationId: input.organisationId },
            subject: `GPU use of ${grantId} passed ${Math.round(threshold.atFraction * 100)} % of the grant`,
            body: { grantId, gpuHoursUsed: usage.gpuHoursUsed, gpuHoursGranted: usage.gpuHoursGranted, action: threshold.action },
            dueAt: usage.measuredAt,
          });
        }
        if (usage.action === 'throttle' || usage.action === 'suspend') {
          changes += 1;
          await change(usage.action === 'throttle' ? 'throttle' : 'suspension', { idempotencyKey: `${grantId}#throttle-${changes}`, grantId, mode: usage.action === 'throttle' ? 'throttled' : 'suspended' });
        }
      }
    }
  } catch (error) {
    if (!isCancellation(error)) {
      releaseReason ??= `failed: ${(error as Error).message}`;
      throw error;
    }
    releaseReason ??= 'cancelled';
  } finally {
    // Whatever happened above (ended, cut, cancelled, refused, failed), the GPUs go back to the pool
    // once, and the cycle hears that this grant has ended.
    if (!continuing) {
      await CancellationScope.nonCancellable(async () => {
        let freed: GpuShare | null = null;
        let reallocation: 'to_pool' | 'to_remaining_grants' | undefined;
        if (allocationId) {
          const released = await gpu.releaseGrant({ idempotencyKey: `${grantId}#release`, grantId, reason: releaseReason ?? 'failed' });
          gpuHoursUsed = released.gpuMinutesUsed / 60;
          freed = released.freed && { capacityId: released.freed.capacityId, type: released.freed.type, count: released.freed.count };
          reallocation = released.reallocation;
        }
        if (!reported) {
          reported = true;
          await report({
            kind: 'ended',
            applicationId: input.applicationId,
            grantId,
            reason: releaseReason ?? 'failed',
            gpuHoursUsed: allocationId ? gpuHoursUsed : null,
            ...(freed ? { freed, reallocation } : {}),
          });
        }
      });
    }
  }
  return { grantId, allocationId, releaseReason: releaseReason ?? 'failed', gpuHoursUsed };

  /**
   * Asks the pool for the team's GPUs. Refused: the cycle is told (it escalates), and as the policy
   * says (`onRefusal`) the grant gives up at once, or asks again under a new key (`#provision-<n>`)
   * when the cycle says capacity freed, on a daily timer, or with a new amount, until the give-up
   * timer fires (a refusal that cannot pass later, a lessor rule, waits only for a new amount).
   * True once served; false when it gave up or was released while waiting.
   */
  async function provision(): Promise<boolean> {
    let gaveUp = false;
    let giveUpArmed = false;
    let escalated = false;
    for (let attempt = 1; ; attempt++) {
      pendingGpus = null;
      capacityFreed = false;
      const now = new Date().toISOString();
      const atLeast = input.acceptPartialAtLeast ? Math.max(1, Math.ceil(gpus[0].count * input.acceptPartialAtLeast)) : null;
      const provisioned = await gpu.provisionGrant({
        idempotencyKey: attempt === 1 ? `${grantId}#provision` : `${grantId}#provision-${attempt}`,
        grantId,
        organisationId: input.organisationId,
        request: { alternatives: gpus.map((g) => ({ type: g.type, count: g.count })) },
        window: { from: now, to: endsAt },
        ...(atLeast !== null && atLeast < gpus[0].count ? { acceptPartial: { atLeast } } : {}),
      });
      if (provisioned.status !== 'refused') {
        allocationId = provisioned.allocationId;
        served = provisioned.served && { capacityId: provisioned.served.capacityId, type: provisioned.served.type, count: provisioned.served.count };
        shortfall = provisioned.shortfall ?? 0;
        return true;
      }
      const { refusal } = provisioned;
      const retryable = refusal.retryable === true;
      if (!escalated) {
        escalated = true;
        await withheld({ ...compactRefusal(refusal), kind: 'refused', retrying: !!input.retryFor && retryable, served: null, asked: gpus[0].count });
      }
      if (!input.retryFor) {
        releaseReason = `gpu_refused:${refusal.reason}`;
        return false;
      }
      if (!giveUpArmed) {
        giveUpArmed = true;
        // A timer armed for the policy's bound: when it fires, the bound has passed (the clock only sets its length).
        const bound = Date.parse(addDuration(now, input.retryFor)) - Date.parse(now);
        sleep(Math.max(1, bound)).then(
          () => void (gaveUp = true),
          () => undefined,
        );
      }
      const changed = () => pendingGpus !== null;
      if (retryable) await condition(() => releaseReason !== null || gaveUp || changed() || capacityFreed, PROVISION_RETRY_INTERVAL);
      else await condition(() => releaseReason !== null || gaveUp || changed());
      if (releaseReason) return false;
      if (gaveUp && !changed()) {
        releaseReason = `gpu_refused:${refusal.reason}`;
        return false;
      }
      // A new amount refused again is escalated again.
      if (changed()) escalated = false;
    }
  }

  /**
   * A change of the allocation through the ledger. One the ledger refuses for good (a non-retryable
   * failure: bad input, no live allocation, a reused key) must not fail the grant and take its GPUs
   * with it: since `grant-ledger-refusal` the cycle is told (it records and escalates the refusal)
   * and the grant goes on with its allocation as it was (null). Infrastructure errors still retry.
   */
  async function change(what: string, request: ChangeGrantInput): Promise<ChangeGrantResult | null> {
    try {
      return await gpu.changeGrant(request);
    } catch (error) {
      const refusal = ledgerRefusal(error);
      if (!refusal || !patched('grant-ledger-refusal')) throw error;
      await report({ kind: 'refused_change', applicationId: input.applicationId, grantId, change: what, ...refusal });
      return null;
    }
  }

  function setServed(count: number): void {
    served = { ...served!, count };
    shortfall = 0;
  }

  /** A raise (a new amount, a finalist's) the pool refused: the cycle is told; with `retry_until` it is asked again when capacity frees. */
  async function withheldChange(refusal: GpuRefusal, limit: number | null): Promise<void> {
    if (!served || limit === null) return;
    shortfall = Math.max(0, limit - served.count);
    await withheld({ ...compactRefusal(refusal), kind: 'partial', retrying: !!input.retryFor && refusal.retryable === true, served: served.count, asked: limit });
  }

  async function withheld(w: GpuWithheld): Promise<void> {
    await report({ kind: 'withheld', applicationId: input.applicationId, grantId, withheld: w });
  }

  async function report(message: GrantReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await getExternalWorkflowHandle(input.cycleId).signal(grantReportSignal, message);
        return;
      } catch (error) {
        // The cycle may be between two runs (continue-as-new); its id answers again a moment later.
        if (attempt >= REPORT_ATTEMPTS || !isWorkflowGone(error)) throw error;
        await sleep(REPORT_RETRY_INTERVAL);
      }
    }
  }
}
