import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Connection } from '@temporalio/client';
import type { Request } from 'express';
import { from, lastValueFrom, type Observable } from 'rxjs';

/**
 * How long one request may wait for Temporal, all its calls together (starts, Updates, Queries,
 * describes). The SDK otherwise retries an unreachable server for about 20 s per call; with the
 * deadline the call ends as DEADLINE_EXCEEDED, which the problem filter answers as 503.
 */
export const TEMPORAL_REQUEST_DEADLINE_MS = 10_000;

/** Routes left without the deadline: the auditors' exports page through whole histories. */
const UNBOUNDED = /^\/v1\/audit\//;

@Injectable()
export class TemporalDeadlineInterceptor implements NestInterceptor {
  constructor(@Inject(Connection) private readonly connection: Connection) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http' || UNBOUNDED.test(context.switchToHttp().getRequest<Request>().path ?? '')) return next.handle();
    // next.handle() binds the handler to the async scope it is called in: the deadline's.
    return from(this.connection.withDeadline(Date.now() + TEMPORAL_REQUEST_DEADLINE_MS, () => lastValueFrom(next.handle(), { defaultValue: undefined })));
  }
}
