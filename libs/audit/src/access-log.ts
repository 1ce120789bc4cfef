import { randomUUID } from 'node:crypto';
import type { EventMetadata, EventStore } from '@concentra/persistence';

export const AUDIT_ACCESS_EVENT = 'AuditAccessed';

/** One stream per day: `audit:2027-03-01`. Hash-chained like every stream, so the log itself is tamper-evident. */
export function auditAccessStream(at: Date): string {
  return `audit:${at.toISOString().slice(0, 10)}`;
}

export interface AuditAccess {
  actor: NonNullable<EventMetadata['actor']>;
  /** What was used: an endpoint's handler or a CLI command. */
  action: string;
  /** What it was used on, e.g. a cycle id. */
  target: string | null;
  details?: Record<string, unknown>;
}

/** Records one use of an audit tool (who, what, when) as an `AuditAccessed` event. */
export async function recordAuditAccess(store: EventStore, access: AuditAccess, at = new Date()): Promise<void> {
  const streamId = auditAccessStream(at);
  await store.append(streamId, [
    {
      eventId: `${streamId}:${randomUUID()}`,
      type: AUDIT_ACCESS_EVENT,
      data: { action: access.action, target: access.target, ...access.details },
      metadata: { actor: access.actor },
      occurredAt: at.toISOString(),
    },
  ]);
}
