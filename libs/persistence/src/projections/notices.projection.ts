import type { EntityManager } from 'typeorm';
import { noticesFor } from '@concentra/domain';
import type { StoredEvent } from '../event-store/types';
import type { Projection } from './projection';

/**
 * Decisions become outbox rows in the transaction that records them (with the projections'
 * checkpoint), so none is lost between the two and a retried append writes nothing twice (the key
 * is the event id and the audience). The notification relay addresses and delivers them.
 */
export const noticesProjection: Projection = {
  name: 'notification_outbox',
  rebuilds: false,
  appliesTo: (event) => noticesFor(event).length > 0,
  async apply(tx: EntityManager, event: StoredEvent) {
    for (const notice of noticesFor(event)) {
      await tx.query(
        `INSERT INTO notification_outbox (key, cycle_id, kind, recipient, subject, body, due_at, source_event_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING`,
        [notice.key, event.streamId, notice.kind, notice.recipient, notice.kind, notice.body, notice.dueAt, event.eventId],
      );
    }
  },
  // What was told stays told (and a rebuild skips this projection altogether: see `rebuilds`).
  async reset() {},
};
