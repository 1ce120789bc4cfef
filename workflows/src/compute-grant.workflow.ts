import {
  CancellationScope,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { GpuActivities } from '@concentra/gpu';
import {
  extendGrantSignal,
  grantPingSignal,
  grantReportSignal,
  grantStatusQuery,
  reallocateGpusSignal,
  releaseGrantSignal,
  type GpuShare,
  type GrantCarry,
  type GrantInput,
  type GrantReport,
} from './contracts';
import { notifications } from './notify';

const gpu = proxyActivities<GpuActivities>({
  startToCloseTimeout: '5 minutes',
  // Every call carries an idempotency key from this workflow's step, so retries are safe.
  retry: { initialInterval: '2 seconds', maximumInterval: '5 minutes', backoffCoefficient: 2, nonRetryableErrorTypes: ['GpuIdempotencyConflict'] },
});

/** How often usage is pulled from the scheduler's accounting into the ledger (GrantInput.meteringInterval may change it). */
const METERING_INTERVAL: Duration = '1 day';
const METERINGS_PER_RUN = 200;
/** How long a grant keeps trying to reach a cycle that is between runs (a durable timer, not a wait in a test). */
const REPORT_ATTEMPTS = 30;
const REPORT_RETRY_INTERVAL = '2 seconds';

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
  const pendingExtensions: { until: string }[] = [];
  let served: GpuShare | null = carry?.served ?? null;
  let reallocations = carry?.reallocations ?? 0;
  const offered: { from: string; share: GpuShare }[] = [];
  let continuing = false;
  let reported = false;

  setHandler(releaseGrantSignal, ({ reason }) => void (releaseReason ??= reason));
  setHandler(extendGrantSignal, ({ until, gpus: newGpus }) => {
    pendingExtensions.push({ until });
    gpus = newGpus;
  });
  setHandler(reallocateGpusSignal, (offer) => void offered.push(offer));
  setHandler(grantPingSignal, () => undefined);
  setHandler(grantStatusQuery, () => ({ allocationId, endsAt, releaseReason, gpuHoursUsed }));

  try {
    if (!allocationId && !releaseReason) {
      const now = new Date().toISOString();
      const provisioned = await gpu.provisionGrant({
        idempotencyKey: `${grantId}#provision`,
        grantId,
        organisationId: input.organisationId,
        request: { alternatives: gpus.map((g) => ({ type: g.type, count: g.count })) },
        window: { from: now, to: windowEnd(now, endsAt) },
      });
      if (provisioned.status === 'refused') {
        releaseReason = `gpu_refused:${provisioned.refusal.reason}`;
        return { grantId, allocationId: null, releaseReason, gpuHoursUsed: null };
      }
      allocationId = provisioned.allocationId;
      served = provisioned.served && { capacityId: provisioned.served.capacityId, type: provisioned.served.type, count: provisioned.served.count };
      await report({ kind: 'started', applicationId: input.applicationId, grantId, allocationId });
    }

    while (!releaseReason) {
      if (meterings - meteringsAtStart >= METERINGS_PER_RUN || workflowInfo().continueAsNewSuggested) {
        continuing = true; // the allocation carries over to the next run: nothing to release
        return await continueAsNew<typeof computeGrant>(input, { allocationId, served, reallocations, extensions, meterings, changes, releaseReason, endsAt, gpus });
      }
      const signalled = await condition(
        () => releaseReason !== null || pendingExtensions.length > 0 || offered.length > 0,
        (input.meteringInterval as Duration | undefined) ?? METERING_INTERVAL,
      );
      while (offered.length > 0 && !releaseReason) {
        const { share } = offered.shift()!;
        // Only GPUs of the capacity this grant runs on can join it; the rest stay in the pool.
        if (!served || share.capacityId !== served.capacityId || share.count <= 0) continue;
        reallocations += 1;
        const changed = await gpu.changeGrant({ idempotencyKey: `${grantId}#realloc-${reallocations}`, grantId, limits: { gpus: served.count + share.count } });
        if (changed.outcome === 'changed') served = { ...served, count: served.count + share.count };
      }
      while (pendingExtensions.length > 0 && !releaseReason) {
        const { until } = pendingExtensions.shift()!;
        extensions += 1;
        await gpu.changeGrant({ idempotencyKey: `${grantId}#extend-${extensions}`, grantId, extendTo: until });
        endsAt = until;
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
          await gpu.changeGrant({ idempotencyKey: `${grantId}#throttle-${changes}`, grantId, mode: usage.action === 'throttle' ? 'throttled' : 'suspended' });
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

  async function report(message: GrantReport): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await getExternalWorkflowHandle(input.cycleId).signal(grantReportSignal, message);
        return;
      } catch (error) {
        // The cycle may be between two runs (continue-as-new); its id answers again a moment later.
        if (attempt >= REPORT_ATTEMPTS || !(error instanceof Error && /not found/i.test(error.message))) throw error;
        await sleep(REPORT_RETRY_INTERVAL);
      }
    }
  }
}

/**
 * The ledger holds capacity over a window. A grant keeps its GPUs until the cycle releases it, so
 * the window runs to the funded end, or two years when none is set (or it has already passed).
 */
function windowEnd(from: string, endsAt: string | null): string {
  if (endsAt && Date.parse(endsAt) > Date.parse(from)) return endsAt;
  return new Date(Date.parse(from) + 2 * 365 * 24 * 3600 * 1000).toISOString();
}
