import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../event-store/types';

/**
 * A read table kept from the events, updated inside the append's transaction. A projection writes
 * only its own tables and reads no other projection's: the store applies them one after the other
 * to a whole append, not event by event across all of them.
 */
export interface Projection {
  readonly name: string;
  /**
   * False for a projection whose rows are acts rather than views (the outbox: each row is a message
   * someone will be sent). It is applied when an event is first recorded, and a rebuild neither
   * empties nor re-applies it: a rebuild must never tell anyone anything, and rules that grow new
   * notices must not reach back to events recorded before them. Default true.
   */
  readonly rebuilds?: boolean;
  /**
   * Whether `apply` would write anything for this event (a cheap test on its type, stream or data).
   * An append that no projection takes is one statement, outside any transaction. Absent: always.
   */
  appliesTo?(event: Omit<StoredEvent, 'globalPosition'>): boolean;
  apply(tx: EntityManager, event: StoredEvent): Promise<void>;
  /**
   * Optional: consecutive events of ONE stream at once (an append's events, or a run of them in a
   * rebuild), in stream order. It must leave exactly the rows `apply` event by event would leave
   * (libs/persistence/src/projections/apply-all.int-spec.ts checks the cycle's); it exists so a
   * projection can read and write what it keeps per stream once per batch instead of per event.
   */
  applyAll?(tx: EntityManager, events: readonly StoredEvent[]): Promise<void>;
  /** Empties the table for a rebuild from zero. */
  reset(tx: EntityManager): Promise<void>;
}

/** Consecutive events of one stream, through `applyAll` when the projection has it, else one by one. */
export async function applyEvents(projection: Projection, tx: EntityManager, events: readonly StoredEvent[]): Promise<void> {
  if (events.length === 0) return;
  if (projection.applyAll) return projection.applyAll(tx, events);
  for (const event of events) await projection.apply(tx, event);
}

/**
 * Events in global order cut into runs of consecutive events of one stream (at most `max` each):
 * what a rebuild hands each projection, so it takes the same path as the appends did.
 */
export async function* streamRuns(events: AsyncIterable<StoredEvent>, max = 500): AsyncGenerator<StoredEvent[]> {
  let run: StoredEvent[] = [];
  for await (const event of events) {
    if (run.length > 0 && (run[0].streamId !== event.streamId || run.length >= max)) {
      yield run;
      run = [];
    }
    run.push(event);
  }
  if (run.length > 0) yield run;
}
