/**
 * Why a command or a document was refused. The HTTP edge maps each code to one 4xx status, so the
 * domain never knows about HTTP; workflows use the same codes to reject Temporal Updates.
 */
export type DomainErrorCode =
  | 'validation_failed'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'duplicate'
  | 'deadline_passed'
  | 'invalid_state'
  | 'conflict_of_interest'
  | 'not_eligible';

export interface DomainIssue {
  /** Dotted path of the offending field, e.g. `stages.2.keep`; empty for the whole document. */
  field: string;
  reason: string;
}

export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly field: string | undefined;
  readonly reason: string;
  /** Every problem found, so a policy author fixes them all in one pass. */
  readonly issues: DomainIssue[];

  constructor(code: DomainErrorCode, reason: string, field?: string, issues?: DomainIssue[]) {
    super(field ? `${code}: ${field}: ${reason}` : `${code}: ${reason}`);
    this.name = 'DomainError';
    this.code = code;
    this.reason = reason;
    this.field = field;
    this.issues = issues ?? [{ field: field ?? '', reason }];
  }

  /** Plain JSON for Temporal failures and HTTP bodies (Error fields do not serialise). */
  toJSON(): { code: DomainErrorCode; field?: string; reason: string; issues: DomainIssue[] } {
    return { code: this.code, ...(this.field ? { field: this.field } : {}), reason: this.reason, issues: this.issues };
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

export function fail(code: DomainErrorCode, reason: string, field?: string): never {
  throw new DomainError(code, reason, field);
}
