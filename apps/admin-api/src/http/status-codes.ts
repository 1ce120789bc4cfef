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
};

export function statusForDomainCode(code: string): number {
  return STATUS[code] ?? 422;
}
