/**
 * What a PostgreSQL failure means for the caller. One classification, used by the record activity
 * (retry, or fail for good) and by the admin API (503 while the database is away):
 *
 * - `unavailable`: the database is unreachable, restarting, overloaded, or the transaction lost a
 *   race it may win next time (connection refused/reset/timeout, SQLSTATE class 08, 53, 57P0x,
 *   40001 serialization failure, 40P01 deadlock, 55P03 lock not available, 57014 query canceled).
 *   Retrying later is right.
 * - `unstorable`: the record itself can never be stored (class 22 data exceptions such as 22P05
 *   "unsupported Unicode escape sequence", 22P02 invalid json, 22021 invalid byte sequence, 22001
 *   value too long; 54000 program_limit_exceeded). Retrying changes nothing.
 * - `other`: anything else (a bug, a constraint): left to the caller's default.
 */
export type DatabaseErrorKind = 'unavailable' | 'unstorable' | 'other';

export interface DatabaseErrorClass {
  kind: DatabaseErrorKind;
  /** The SQLSTATE, or the Node.js error code (ECONNREFUSED, ...) when there was no server answer. */
  code?: string;
  /** PostgreSQL's own message (and its detail when given). */
  message: string;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOENT', // a Unix socket that is gone
]);

/** Transient SQLSTATEs outside the wholly transient classes 08 and 53. */
const TRANSIENT_STATES = new Set(['40001', '40P01', '55P03', '57014', '57P01', '57P02', '57P03', '57P04', '57P05']);

/** Messages of node-postgres and pg-pool when a connection dies or cannot be had in time. */
const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection timeout/i,
  /client has encountered a connection error/i,
  /cannot use a pool after calling end/i,
  /Client was closed and is not queryable/i,
  /server closed the connection unexpectedly/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Walks TypeORM's QueryFailedError (driverError), AggregateErrors (several addresses) and `cause`s. */
function* chain(error: unknown): Generator<Record<string, unknown>> {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const record = e as Record<string, unknown>;
    yield record;
    queue.push(record.driverError, record.cause);
    if (Array.isArray(record.errors)) queue.push(...(record.errors as unknown[]));
  }
}

export function classifyDatabaseError(error: unknown): DatabaseErrorClass {
  for (const e of chain(error)) {
    const code = typeof e.code === 'string' ? e.code : undefined;
    const message = typeof e.message === 'string' ? e.message : String(e);
    const full = typeof e.detail === 'string' && e.detail ? `${message} (${e.detail})` : message;
    if (code && SQLSTATE.test(code)) {
      if (code.startsWith('22') || code === '54000') return { kind: 'unstorable', code, message: full };
      if (code.startsWith('08') || code.startsWith('53') || TRANSIENT_STATES.has(code)) return { kind: 'unavailable', code, message: full };
      continue;
    }
    if (code && NETWORK_CODES.has(code)) return { kind: 'unavailable', code, message: full };
    if (CONNECTION_MESSAGES.some((pattern) => pattern.test(message))) return { kind: 'unavailable', ...(code ? { code } : {}), message: full };
  }
  return { kind: 'other', message: error instanceof Error ? error.message : String(error) };
}

/**
 * A unique or exclusion constraint refused the write (23505, 23P01): another writer stored the same
 * thing first. The caller lost a race; the API answers 409, never 500.
 */
export function isUniqueViolation(error: unknown): boolean {
  for (const e of chain(error)) if (e.code === '23505' || e.code === '23P01') return true;
  return false;
}
