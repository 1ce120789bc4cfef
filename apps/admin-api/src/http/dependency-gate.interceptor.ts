import { Inject, Injectable, ServiceUnavailableException, SetMetadata, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Observable } from 'rxjs';
import { PostgresProbe } from '@concentra/observability';

const UNGATED = 'concentra:ungated';
/** Routes that answer whatever PostgreSQL does (health, metrics). */
export const Ungated = () => SetMetadata(UNGATED, true);

/**
 * Every route needs PostgreSQL (projections, the event store, the audit access log). While it is
 * down, a request is answered 503 with Retry-After before anything runs, rather than failing half
 * way in whatever way the driver fails. The answer is at most a second old; readiness refreshes it.
 */
@Injectable()
export class DependencyGateInterceptor implements NestInterceptor {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(PostgresProbe) private readonly postgres: PostgresProbe,
  ) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    if (!this.reflector.getAllAndOverride<boolean>(UNGATED, [context.getHandler(), context.getClass()])) {
      const probe = await this.postgres.recent();
      if (!probe.up) {
        throw new ServiceUnavailableException({
          error: 'service_unavailable',
          dependency: 'postgresql',
          message: `PostgreSQL is unavailable (${probe.error ?? 'no answer'})`,
        });
      }
    }
    return next.handle();
  }
}
