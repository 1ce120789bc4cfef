import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { DomainError } from '@concentra/domain';
import { statusForDomainCode } from './status-codes';

interface Body {
  statusCode: number;
  error: string;
  message: string;
  fields?: { field: string; reason: string }[];
}

/**
 * The one place where failures become HTTP answers: domain error codes (thrown in libs/domain,
 * or by a workflow's Update validator) map to 4xx here, and nowhere else.
 */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const body = this.toBody(exception);
    if (body.statusCode >= 500) this.logger.error(exception instanceof Error ? exception.stack : String(exception));
    host.switchToHttp().getResponse<Response>().status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): Body {
    if (exception instanceof HttpException) {
      const response = exception.getResponse();
      return typeof response === 'object'
        ? { statusCode: exception.getStatus(), error: 'http_error', message: exception.message, ...(response as object) } as Body
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
    return { statusCode: 500, error: 'internal_error', message: 'something went wrong; it has been logged' };
  }
}

interface DomainFailure {
  code: string;
  message: string;
  issues?: { field: string; reason: string }[];
}

/** A DomainError thrown here, or one a workflow's validator turned into an ApplicationFailure. */
function domainFailure(exception: unknown): DomainFailure | undefined {
  const candidate = exception instanceof WorkflowUpdateFailedError ? exception.cause : exception;
  if (candidate instanceof ApplicationFailure && candidate.type === 'DomainError') {
    const [details] = (candidate.details ?? []) as [{ code: string; issues?: DomainFailure['issues'] } | undefined];
    return { code: details?.code ?? 'invalid_state', message: candidate.message, issues: details?.issues };
  }
  if (candidate instanceof DomainError) return { code: candidate.code, message: candidate.message, issues: candidate.issues };
  return undefined;
}
