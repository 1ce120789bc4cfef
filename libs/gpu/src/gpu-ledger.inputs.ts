import type { ChangeGrantInput, GpuRequest, ProvisionGrantInput } from './gpu.activities';
import { gpuError } from './gpu-ledger.rows';
import { normalizeGpuType, requestProblem, type CapacityInput } from './policy';

/**
 * What the ledger accepts, checked before anything is read or written: a refused input throws a
 * GpuLedgerError naming the field and the reason, and changes nothing.
 */

/** A grant with no funded end (or provisioned after it) plans two years; it holds until released anyway. */
const DEFAULT_PLAN_MS = 2 * 365 * 24 * 3600 * 1000;

/**
 * The planned end of a grant's window: as asked when it is after the start, else the default plan.
 * A cycle that runs behind its planned dates (a worker down while a deadline fell) provisions or
 * extends a grant after the end it planned; that is no error to fail the grant on, and the grant
 * holds its GPUs until the cycle releases it either way.
 */
export function plannedWindowEnd(from: Date, planned: Date | null): Date {
  return planned && planned > from ? planned : new Date(from.getTime() + DEFAULT_PLAN_MS);
}

export function normalizeRequest(request: GpuRequest): GpuRequest {
  if ('alternatives' in request) return { alternatives: request.alternatives.map((a) => ({ type: normalizeGpuType(a.type), count: a.count })) };
  return {
    equivalentTo: { type: normalizeGpuType(request.equivalentTo.type), count: request.equivalentTo.count },
    ...(request.acceptTypes ? { acceptTypes: request.acceptTypes.map(normalizeGpuType) } : {}),
  };
}

export function validateKeyAndGrant(input: { idempotencyKey?: unknown; grantId?: unknown }): void {
  if (typeof input?.idempotencyKey !== 'string' || input.idempotencyKey.length === 0) throw gpuError('validation_failed', 'an idempotency key is required', 'idempotencyKey');
  if (typeof input.grantId !== 'string' || input.grantId.length === 0) throw gpuError('validation_failed', 'a grant id is required', 'grantId');
}

/** A provision request checked, and its planned window decided from the input alone (so a retry hashes the same), not in workflow code. */
export function checkProvision(input: ProvisionGrantInput): { from: Date; to: Date } {
  validateKeyAndGrant(input);
  const problem = requestProblem(input.request);
  if (problem) throw gpuError('validation_failed', problem, 'request');
  const from = new Date(input.window?.from);
  const planned = input.window?.to ? new Date(input.window.to) : null;
  if (Number.isNaN(from.getTime()) || (planned && Number.isNaN(planned.getTime()))) throw gpuError('validation_failed', 'window.from and window.to are instants (to may be null)', 'window');
  const to = plannedWindowEnd(from, planned);
  if (input.gpuMinutes !== undefined && !(input.gpuMinutes >= 0)) throw gpuError('validation_failed', 'must be a non-negative number', 'gpuMinutes');
  const firstCount = 'alternatives' in input.request ? input.request.alternatives[0].count : input.request.equivalentTo.count;
  if (input.acceptPartial !== undefined && !(Number.isInteger(input.acceptPartial.atLeast) && input.acceptPartial.atLeast > 0 && input.acceptPartial.atLeast <= firstCount)) {
    throw gpuError('validation_failed', `a positive integer, at most the ${firstCount} asked`, 'acceptPartial.atLeast');
  }
  return { from, to };
}

export function checkChange(input: ChangeGrantInput): void {
  validateKeyAndGrant(input);
  if (input.extendTo !== undefined && Number.isNaN(new Date(input.extendTo).getTime())) throw gpuError('validation_failed', 'must be an instant', 'extendTo');
  if (input.limits?.gpus !== undefined && !(Number.isInteger(input.limits.gpus) && input.limits.gpus > 0)) throw gpuError('validation_failed', 'must be a positive integer', 'limits.gpus');
  if (input.limits?.gpuMinutes != null && !(input.limits.gpuMinutes >= 0)) throw gpuError('validation_failed', 'must be a non-negative number', 'limits.gpuMinutes');
  if (input.mode !== undefined && !['normal', 'throttled', 'suspended'].includes(input.mode)) throw gpuError('validation_failed', 'normal, throttled or suspended', 'mode');
}

/** Capacity to register, normalised, with its lessor consistent with its ownership. */
export function checkCapacity(input: CapacityInput): CapacityInput & { lessorOrganisationId: string | null; availableUntil: string | null } {
  const c = { ...input, gpuType: normalizeGpuType(input.gpuType), lessorOrganisationId: input.lessorOrganisationId ?? null, availableUntil: input.availableUntil ?? null };
  if (c.ownership === 'leased' && !c.lessorOrganisationId) throw gpuError('validation_failed', 'leased capacity names its lessor organisation', 'lessorOrganisationId');
  if (c.ownership === 'owned' && c.lessorOrganisationId) throw gpuError('validation_failed', 'owned capacity has no lessor', 'lessorOrganisationId');
  if (c.availableUntil && new Date(c.availableUntil) <= new Date(c.availableFrom)) throw gpuError('validation_failed', 'must be after availableFrom', 'availableUntil');
  return c;
}
