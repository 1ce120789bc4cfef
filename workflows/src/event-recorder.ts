import { ActivityFailure, ApplicationFailure, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, EventMetadata, NewEvent } from '@concentra/persistence';

const UNSTORABLE = 'UnstorableRecord';

const { recordEvents } = proxyActivities<EventActivities>({
  startToCloseTimeout: '1 minute',
  // The store is idempotent by event id, so retrying until it answers is always safe. A content
  // conflict will not heal by retrying, nor will a record PostgreSQL cannot store.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2, nonRetryableErrorTypes: ['EventStoreError', UNSTORABLE] },
});

export interface DomainEventLike {
  type: string;
  data: object;
}

/**
 * Numbers a workflow's decisions and appends them through the event activity. The id is
 * `<workflow id>#<sequence>`: a retried activity or a replayed workflow writes the same ids, so
 * the store keeps each decision exactly once. The sequence survives continue-as-new.
 */
export class EventRecorder {
  constructor(
    private readonly streamId: string,
    private sequence = 0,
  ) {}

  get recorded(): number {
    return this.sequence;
  }

  /**
   * Appends the events and answers them as stored: the caller evolves its state from what was
   * recorded (on replay, from the history), so recorded facts win over a re-computation. A record
   * the store can never hold is refused as a DomainError: the command fails, the cycle goes on.
   */
  async record<E extends DomainEventLike>(events: E[], metadata: (event: E, index: number) => EventMetadata): Promise<E[]> {
    if (events.length === 0) return [];
    const occurredAt = new Date().toISOString(); // workflow time: a stamp, never compared
    const base = workflowInfo().workflowId;
    const first = this.sequence;
    const batch: NewEvent[] = events.map((event, i) => ({
      eventId: `${base}#${first + i + 1}`,
      type: event.type,
      data: event.data as Record<string, unknown>,
      metadata: metadata(event, i),
      occurredAt,
    }));
    let stored;
    try {
      stored = await recordEvents({ streamId: this.streamId, events: batch });
    } catch (error) {
      const cause = error instanceof ActivityFailure ? error.cause : undefined;
      if (cause instanceof ApplicationFailure && cause.type === UNSTORABLE) {
        throw ApplicationFailure.create({
          type: 'DomainError',
          message: `the record cannot be stored: ${cause.message}`,
          details: [{ code: 'validation_failed' }],
          nonRetryable: true,
        });
      }
      throw error;
    }
    this.sequence = first + events.length; // only once stored: a failed append leaves no gap
    const byId = new Map(stored.events.map((e) => [e.eventId, e]));
    return batch.map((e) => {
      const recorded = byId.get(e.eventId);
      if (!recorded) throw new Error(`the store did not answer event ${e.eventId}`);
      return { type: recorded.type, data: recorded.data } as unknown as E;
    });
  }
}
