/** How a grant reads a refusal of the GPU ledger: pure helpers of compute-grant.workflow.ts (deterministic, no I/O). */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import type { GpuRefusal } from '@concentra/gpu';
import type { GpuWithheld } from './contracts';

/** A non-retryable failure of a ledger activity (its typed refusal): its code and message; null for anything else. */
export function ledgerRefusal(error: unknown): { code: string; message: string } | null {
  const cause = error instanceof ActivityFailure ? error.cause : null;
  if (!(cause instanceof ApplicationFailure) || !cause.nonRetryable) return null;
  const details = cause.details?.[0] as { code?: unknown } | undefined;
  return { code: typeof details?.code === 'string' ? details.code : (cause.type ?? 'refused'), message: (cause.message || 'refused by the GPU ledger').slice(0, 2000) };
}

/** The ledger's refusal, compact enough for a signal and an event: at most 16 rows, the fields decisions show. */
export function compactRefusal(refusal: GpuRefusal): Omit<GpuWithheld, 'kind' | 'retrying' | 'served' | 'asked'> {
  return {
    reason: refusal.reason,
    message: refusal.message.slice(0, 2000),
    rule: refusal.rule ?? null,
    retryable: refusal.retryable === true,
    policyVersion: refusal.policyVersion ?? null,
    capacity: (refusal.capacity ?? []).slice(0, 16).map((c) => ({
      capacityId: c.capacityId,
      gpuType: c.gpuType,
      count: c.count,
      held: c.held,
      free: c.free,
      why: c.why,
      lessorOrganisationId: c.lessorOrganisationId,
    })),
  };
}
