/** Domain error codes → HTTP status. Unknown codes are a 422: the request was understood but refused. */
const STATUS: Record<string, number> = {
  validation_failed: 400,
  forbidden: 403,
  conflict_of_interest: 403,
  not_found: 404,
  conflict: 409,
  duplicate: 409,
  deadline_passed: 409,
  invalid_state: 409,
  event_id_conflict: 409,
  wrong_expected_position: 409,
  // The event store's own refusals (EventStoreError codes).
  unstorable_record: 400,
  invalid_event: 500,
};

export function statusForDomainCode(code: string): number {
  return STATUS[code] ?? 422;
}

/** Seconds a client should wait before trying again while a dependency is down (503 Retry-After). */
export const RETRY_AFTER_SECONDS = 5;
