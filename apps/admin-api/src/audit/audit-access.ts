import { randomUUID } from 'node:crypto';
import { CallHandler, ExecutionContext, Inject, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { EventStore } from '@concentra/persistence';
import type { AuthenticatedRequest } from '../auth/auth.guard';

export const AUDIT_ACCESS_EVENT = 'AuditAccessed';

/** One stream per day: `audit:2027-03-01`. Hash-chained like every stream, so the log itself is tamper-evident. */
export function auditAccessStream(at: Date): string {
  return `audit:${at.toISOString().slice(0, 10)}`;
}

/**
 * Records every use of an audit endpoint (who, what, when) before it is served, as an
 * `AuditAccessed` event. If the record cannot be written the request is refused: no unlogged audit.
 */
@Injectable()
export class AuditAccessInterceptor implements NestInterceptor {
  constructor(@Inject(EventStore) private readonly events: EventStore) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const now = new Date();
    const streamId = auditAccessStream(now);
    const { principal } = request;
    await this.events.append(streamId, [
      {
        eventId: `${streamId}:${randomUUID()}`,
        type: AUDIT_ACCESS_EVENT,
        data: {
          action: context.getHandler().name,
          target: typeof request.params?.id === 'string' ? request.params.id : null,
          method: request.method,
          path: request.originalUrl ?? request.url,
          query: { ...(request.query as Record<string, unknown>) },
        },
        metadata: { actor: { role: principal.role, subject: principal.sub, ...(principal.org ? { organisationId: principal.org } : {}) } },
        occurredAt: now.toISOString(),
      },
    ]);
    return next.handle();
  }
}
