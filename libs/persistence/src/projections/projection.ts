import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../event-store/types';

/** A read table kept from the events, updated inside the append's transaction. */
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
  /** Empties the table for a rebuild from zero. */
  reset(tx: EntityManager): Promise<void>;
}
