import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, EventMetadata, NewEvent } from '@concentra/persistence';

const { recordEvents } = proxyActivities<EventActivities>({
  startToCloseTimeout: '1 minute',
  // The store is idempotent by event id, so retrying until it answers is always safe; a content
  // conflict will not heal by retrying.
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2, nonRetryableErrorTypes: ['EventStoreError'] },
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

  async record(events: DomainEventLike[], metadata: (event: DomainEventLike, index: number) => EventMetadata): Promise<void> {
    if (events.length === 0) return;
    const occurredAt = new Date().toISOString(); // workflow time: deterministic on replay
    const base = workflowInfo().workflowId;
    const first = this.sequence;
    const batch: NewEvent[] = events.map((event, i) => ({
      eventId: `${base}#${first + i + 1}`,
      type: event.type,
      data: event.data as Record<string, unknown>,
      metadata: metadata(event, i),
      occurredAt,
    }));
    await recordEvents({ streamId: this.streamId, events: batch });
    this.sequence = first + events.length; // only once stored: a failed append leaves no gap
  }
}
