import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
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
    if (domain) return { statusCode: statusForDomainCode(domain.code), error: domain.code, message: domain.message, fields: domain.field ? [{ field: domain.field, reason: domain.message }] : undefined };
    return { statusCode: 500, error: 'internal_error', message: 'something went wrong; it has been logged' };
  }
}

interface DomainFailure {
  code: string;
  message: string;
  field?: string;
}

/** A DomainError thrown here, or one a workflow's validator turned into an ApplicationFailure. */
function domainFailure(exception: unknown): DomainFailure | undefined {
  const candidate = exception instanceof WorkflowUpdateFailedError ? exception.cause : exception;
  if (candidate instanceof ApplicationFailure && candidate.type === 'DomainError') {
    const [details] = (candidate.details ?? []) as [{ code: string; field?: string } | undefined];
    return { code: details?.code ?? 'invalid_state', message: candidate.message, field: details?.field };
  }
  if (candidate instanceof Error && candidate.name === 'DomainError' && 'code' in candidate) {
    const { code, field } = candidate as Error & { code: string; field?: string };
    return { code, message: candidate.message, field };
  }
  return undefined;
}
