import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { Observable } from 'rxjs';
import { principalOf } from '@concentra/observability';

/**
 * After the guard has verified the caller, every record the request logs from here on (a handler's,
 * the problem filter's) carries the principal, next to the request id set by pino-http.
 */
@Injectable()
export class LogContextInterceptor implements NestInterceptor {
  constructor(@Inject(PinoLogger) private readonly logger: PinoLogger) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const principal = principalOf(context.switchToHttp().getRequest());
      if (principal) this.logger.assign({ principal });
    }
    return next.handle();
  }
}
