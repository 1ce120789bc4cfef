import { Context } from '@temporalio/activity';
import type { EventStore } from './event-store/event-store';
import type { NewEvent } from './event-store/types';

export interface RecordEventsInput {
  streamId: string;
  events: NewEvent[];
}

/**
 * Activities that write the workflows' decisions into the event store. The event ids come from
 * the workflow (workflow id + sequence), so a retry after a crash stores nothing twice.
 */
export class EventActivities {
  constructor(private readonly store: EventStore) {}

  async recordEvents(input: RecordEventsInput): Promise<{ streamPosition: number; appended: number }> {
    const { workflowExecution } = Context.current().info;
    if (!workflowExecution) throw new Error("recordEvents runs only as a workflow activity");
    const events = input.events.map((e) => ({
      ...e,
      metadata: { ...e.metadata, workflowId: workflowExecution.workflowId, runId: workflowExecution.runId },
    }));
    const result = await this.store.append(input.streamId, events);
    return { streamPosition: result.streamPosition, appended: result.appended };
  }
}
