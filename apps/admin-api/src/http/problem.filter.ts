import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { CYCLE_BUSY } from '@concentra/workflows/contracts';
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '@concentra/domain';
import { EventStoreError, classifyDatabaseError, isUniqueViolation } from '@concentra/persistence';
import { IdentityProviderUnreachable } from '../auth/jwks';
import { RETRY_AFTER_SECONDS, statusForDomainCode } from './status-codes';

interface Body {
  statusCode: number;
  error: string;
  message: string;
  fields?: { field: string; reason: string }[];
  /** On a 503: what is down. */
  dependency?: Dependency;
}
type Dependency = 'temporal' | 'postgresql' | 'identity_provider';

/**
 * The one place where failures become HTTP answers (application/problem+json): domain error codes
 * (thrown in libs/domain, or by a workflow's Update validator) map to 4xx here, and nowhere else;
 * a dependency that is down (PostgreSQL, Temporal, the identity provider) is a 503 with Retry-After, never a 500.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = this.toBody(exception);
    if (body.statusCode >= 500 && body.statusCode !== 503) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    else if (body.statusCode === 503) this.logger.warn(`503: ${body.message}`);
    const response = host.switchToHttp().getResponse<Response>();
    if (body.statusCode === 503) response.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    response.status(body.statusCode).type('application/problem+json').send(JSON.stringify(body));
  }

  private toBody(exception: unknown): Body {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      return typeof response === 'object'
        ? ({ statusCode: exception.getStatus(), error: 'http_error', message: exception.message, ...(response as object) } as Body)
        : { statusCode: exception.getStatus(), error: 'http_error', message: String(response) };
    }
    if (exception instanceof WorkflowExecutionAlreadyStartedError) {
      return { statusCode: 409, error: 'conflict', message: `${exception.workflowId} already exists` };
    }
    if (exception instanceof WorkflowNotFoundError) {
      return { statusCode: 404, error: 'not_found', message: `${exception.workflowId} does not exist` };
    }
    const domain = domainFailure(exception);
    if (domain) {
      return { statusCode: statusForDomainCode(domain.code), error: domain.code, message: domain.message, fields: domain.issues };
    }
    // The event store's refusals, also when wrapped (`cause`): "already stored with different content" is a lost race, 409.
    const stored = causes(exception).find((e): e is EventStoreError => e instanceof EventStoreError);
    if (stored) {
      const statusCode = statusForDomainCode(stored.code);
      return { statusCode, error: statusCode === 409 ? 'conflict' : stored.code, message: stored.message };
    }
    // Two writers of the same thing at once (a slug, a version, an idempotency key): the loser gets a 409.
    if (isUniqueViolation(exception)) return { statusCode: 409, error: 'conflict', message: 'a concurrent request stored this first; read it again' };
    const down = unavailable(exception);
    if (down) return { statusCode: 503, error: 'service_unavailable', dependency: down.dependency, message: down.message };
    return { statusCode: 500, error: 'internal_error', message: 'something went wrong; it has been logged' };
  }
}

interface DomainFailure {
  code: string;
  message: string;
  issues?: { field: string; reason: string }[];
}

/**
 * A DomainError thrown here or by a library the API calls (the GPU ledger's `GpuLedgerError` is one:
 * its code maps like any other), or one a workflow's validator turned into an ApplicationFailure.
 */
function domainFailure(exception: unknown): DomainFailure | undefined {
  const candidate = exception instanceof WorkflowUpdateFailedError ? exception.cause : exception;
  if (candidate instanceof ApplicationFailure && candidate.type === 'DomainError') {
    const [details] = (candidate.details ?? []) as [{ code: string; issues?: DomainFailure['issues'] } | undefined];
    return { code: details?.code ?? 'invalid_state', message: candidate.message, issues: details?.issues };
  }
  if (candidate instanceof DomainError) return { code: candidate.code, message: candidate.message, issues: candidate.issues };
  return undefined;
}

/** gRPC status codes that mean "the server is not there, or did not answer in time". */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_TRANSIENT = new Set([GRPC_UNAVAILABLE, GRPC_DEADLINE_EXCEEDED, 1 /* CANCELLED */, 8 /* RESOURCE_EXHAUSTED */]);

function causes(exception: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = exception; e !== null && e !== undefined && out.length < 8; e = (e as { cause?: unknown }).cause) out.push(e);
  return out;
}

/** A Temporal, PostgreSQL or identity provider outage behind this failure: which one, and why. */
function unavailable(exception: unknown): { dependency: Dependency; message: string } | undefined {
  for (const e of causes(exception)) {
    if (e instanceof IdentityProviderUnreachable) return { dependency: 'identity_provider', message: e.message };
    if (e instanceof ApplicationFailure && e.type === CYCLE_BUSY) {
      return { dependency: 'temporal', message: 'the cycle is starting its next run and took nothing; send the command again' };
    }
    if (e instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
      return { dependency: 'temporal', message: 'Temporal did not answer in time; the command may still be applied — read the cycle before sending it again' };
    }
    const grpc = e as { code?: unknown; details?: unknown; metadata?: unknown };
    if (typeof grpc.code === 'number' && grpc.metadata !== undefined && GRPC_TRANSIENT.has(grpc.code)) {
      const what = grpc.code === GRPC_DEADLINE_EXCEEDED ? 'did not answer in time' : 'is unreachable';
      return { dependency: 'temporal', message: `Temporal ${what} (${typeof grpc.details === 'string' ? grpc.details : 'no details'})` };
    }
    // Connection.connect / a lazy connection's first call, or a ServiceError around a gRPC failure.
    if (e instanceof Error && /Failed to connect before the deadline/i.test(e.message)) return { dependency: 'temporal', message: `Temporal is unreachable (${e.message})` };
    if (e instanceof ServiceError && e.cause === undefined) return { dependency: 'temporal', message: `Temporal did not answer (${e.message})` };
  }
  const db = classifyDatabaseError(exception);
  if (db.kind === 'unavailable') return { dependency: 'postgresql', message: `PostgreSQL is unavailable (${db.code ? `${db.code}: ` : ''}${db.message})` };
  return undefined;
}
