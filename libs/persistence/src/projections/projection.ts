import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../event-store/types';

/** A read table kept from the events, updated inside the append's transaction. */
export interface Projection {
  readonly name: string;
  apply(tx: EntityManager, event: StoredEvent): Promise<void>;
  /** Empties the table for a rebuild from zero. */
  reset(tx: EntityManager): Promise<void>;
}
