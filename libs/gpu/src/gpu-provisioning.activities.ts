import { ApplicationFailure } from '@temporalio/common';
import type {
  ChangeGrantInput,
  ChangeGrantResult,
  GpuActivities,
  GpuAllocationView,
  MeterUsageInput,
  MeterUsageResult,
  ProvisionGrantInput,
  ProvisionGrantResult,
  ReleaseGrantInput,
  ReleaseGrantResult,
} from './gpu.activities';
import { GpuIdempotencyConflict, GpuLedgerError } from './gpu-errors';
import type { GpuLedger } from './gpu-ledger';

/**
 * The activity boundary: the ledger's typed errors become Temporal failures here and nowhere else.
 * A refused input is a non-retryable `DomainError` failure carrying its code and issues (the shape a
 * workflow's Update validator uses); a reused idempotency key is a non-retryable
 * `GpuIdempotencyConflict`. Anything else (database, provider down) passes through and is retried.
 */
export function toActivityFailure(error: unknown): unknown {
  if (error instanceof GpuIdempotencyConflict) {
    return ApplicationFailure.create({ type: 'GpuIdempotencyConflict', message: error.message, nonRetryable: true, details: [{ code: error.code, issues: error.issues }] });
  }
  if (error instanceof GpuLedgerError) {
    return ApplicationFailure.create({ type: 'DomainError', message: error.message, nonRetryable: true, details: [{ code: error.code, issues: error.issues }] });
  }
  return error;
}

/** Runs one ledger call as an activity: its typed errors leave as ApplicationFailures. */
async function asActivity<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toActivityFailure(error);
  }
}

/**
 * The activity provider the worker binds with `activitiesOf(...)`: every method on this prototype
 * is an activity, so it holds nothing but the activities and delegates to the ledger. It is the
 * boundary where the ledger's typed errors become Temporal failures (`asActivity`).
 */
export class GpuProvisioningActivities implements GpuActivities {
  constructor(private readonly ledger: GpuLedger) {}

  provisionGrant(input: ProvisionGrantInput): Promise<ProvisionGrantResult> {
    return asActivity(() => this.ledger.provision(input));
  }

  changeGrant(input: ChangeGrantInput): Promise<ChangeGrantResult> {
    return asActivity(() => this.ledger.change(input));
  }

  releaseGrant(input: ReleaseGrantInput): Promise<ReleaseGrantResult> {
    return asActivity(() => this.ledger.release(input));
  }

  meterUsage(input: MeterUsageInput): Promise<MeterUsageResult> {
    return asActivity(() => this.ledger.meter(input));
  }

  describeGrant(input: { grantId: string }): Promise<GpuAllocationView | null> {
    return asActivity(() => this.ledger.describe(input.grantId));
  }
}
