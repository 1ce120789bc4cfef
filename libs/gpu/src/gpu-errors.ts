import { DomainError, type DomainErrorCode } from '@concentra/domain';

/**
 * Why the GPU ledger refuses a request as such: bad input, a state that does not allow it, a stale
 * policy version. Never worth a retry. The ledger is a library the admin API also calls, so it
 * throws these and knows nothing of Temporal: the activities translate them into non-retryable
 * ApplicationFailures (`toActivityFailure` in gpu-provisioning.activities.ts), the API's problem filter maps them to HTTP like any
 * DomainError. Capacity decisions (not enough GPUs, lessor conflict) are not errors: they are
 * returned as refusals.
 */
export class GpuLedgerError extends DomainError {
  constructor(code: DomainErrorCode, reason: string, field?: string) {
    super(code, reason, field);
    this.name = 'GpuLedgerError';
  }
}

/** An idempotency key used before with a different input: the caller's keys are wrong, a retry cannot help. */
export class GpuIdempotencyConflict extends GpuLedgerError {
  constructor(readonly idempotencyKey: string) {
    super('conflict', 'used before with a different input', 'idempotencyKey');
    this.name = 'GpuIdempotencyConflict';
    this.message = `idempotency key '${idempotencyKey}' was used before with a different input`;
  }
}
