import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request } from 'express';
import type { Observable } from 'rxjs';
import { findUnstorable } from '@concentra/domain';
import { invalidRequest } from './zod-body.pipe';

/**
 * Global, and first among the interceptors: path parameters and every query string (known to the
 * route or not) holding a string PostgreSQL cannot store (NUL, unpaired surrogates) are a 400
 * naming the parameter, before anything else runs, the audit access log's write included.
 * Bodies are checked by `ZodPipe`, so that the 400 lists their other bad fields too.
 */
@Injectable()
export class InputHygieneInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const request = context.switchToHttp().getRequest<Request>();
      const fields = [...findUnstorable(request.params ?? {}), ...findUnstorable(request.query ?? {})];
      if (fields.length > 0) throw invalidRequest(fields);
    }
    return next.handle();
  }
}
