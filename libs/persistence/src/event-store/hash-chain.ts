import { createHash } from 'node:crypto';
import { canonicalJson } from '@concentra/domain';
import type { StoredEvent } from './types';

export type HashedFields = Omit<StoredEvent, 'globalPosition' | 'hash'>;

/** SHA-256 over everything that makes the event what it is, the previous link included. */
export function eventHash(event: HashedFields): string {
  const body = canonicalJson({
    streamId: event.streamId,
    streamPosition: event.streamPosition,
    eventId: event.eventId,
    type: event.type,
    schemaVersion: event.schemaVersion,
    data: event.data,
    metadata: event.metadata,
    occurredAt: new Date(event.occurredAt).toISOString(),
    recordedAt: new Date(event.recordedAt).toISOString(),
    prevHash: event.prevHash,
  });
  return createHash('sha256').update(body).digest('hex');
}

/** Whether a retried event says the same thing as the stored one (recording time aside). */
export function sameContent(stored: StoredEvent, candidate: { type: string; data: unknown; metadata: unknown; occurredAt: string; schemaVersion: number }): boolean {
  return (
    stored.type === candidate.type &&
    stored.schemaVersion === candidate.schemaVersion &&
    canonicalJson(stored.data) === canonicalJson(candidate.data) &&
    canonicalJson(stored.metadata) === canonicalJson(candidate.metadata) &&
    new Date(stored.occurredAt).getTime() === new Date(candidate.occurredAt).getTime()
  );
}
