import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, NewEvent } from '@concentra/persistence';

const { recordEvents } = proxyActivities<EventActivities>({
  startToCloseTimeout: '1 minute',
  // The store is idempotent by event id, so retrying until it answers is always safe.
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

  async record(events: DomainEventLike[], metadata: NewEvent['metadata'], extra: (e: DomainEventLike) => object = () => ({})): Promise<void> {
    if (events.length === 0) return;
    const occurredAt = new Date().toISOString(); // workflow time: deterministic on replay
    const base = workflowInfo().workflowId;
    const batch: NewEvent[] = events.map((event) => ({
      eventId: `${base}#${++this.sequence}`,
      type: event.type,
      data: { ...event.data, ...extra(event) } as Record<string, unknown>,
      metadata,
      occurredAt,
    }));
    await recordEvents({ streamId: this.streamId, events: batch });
  }
}
