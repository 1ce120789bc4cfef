import { CallHandler, ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventStore } from '@concentra/persistence';
import { recordAuditAccess } from '@concentra/audit';
import type { AuthenticatedRequest } from '../auth/auth.guard';

/**
 * Records every use of an audit endpoint (who, what, when) before it is served, as an
 * `AuditAccessed` event in the day's `audit:<date>` stream. If the record cannot be written the
 * request fails: no audit read goes unlogged.
 */
@Injectable()
export class AuditAccessInterceptor implements NestInterceptor {
  constructor(@Inject(EventStore) private readonly events: EventStore) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const { principal } = request;
    await recordAuditAccess(this.events, {
      actor: { role: principal.role, subject: principal.sub, ...(principal.org ? { organisationId: principal.org } : {}) },
      action: context.getHandler().name,
      target: typeof request.params?.id === 'string' ? request.params.id : null,
      details: { method: request.method, path: request.originalUrl ?? request.url, query: { ...(request.query as Record<string, unknown>) } },
    });
    return next.handle();
  }
}
