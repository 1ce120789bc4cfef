import { ApplicationFailure, Context } from '@temporalio/activity';
import { eventAppends, eventsAppended } from '@concentra/observability';
import { classifyDatabaseError } from './event-store/database-errors';
import { EventStoreError, UnstorableRecordError } from './event-store/types';
import type { EventStore } from './event-store/event-store';
import type { NewEvent } from './event-store/types';

export interface RecordedEvents {
  streamPosition: number;
  appended: number;
  events: Array<{ eventId: string; type: string; data: Record<string, unknown> }>;
}

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

  /**
   * Returns the events as stored (a retry gets what the first attempt stored), so the workflow
   * evolves its state from recorded facts rather than from a re-computation.
   */
  async recordEvents(input: RecordEventsInput): Promise<RecordedEvents> {
    const { info, log } = Context.current();
    const { workflowExecution } = info;
    if (!workflowExecution) throw new Error("recordEvents runs only as a workflow activity");
    const events = input.events.map((e) => ({
      ...e,
      metadata: { ...e.metadata, workflowId: workflowExecution.workflowId, runId: workflowExecution.runId },
    }));
    const timer = eventAppends.startTimer();
    const result = await this.store.append(input.streamId, events).catch((error: unknown) => {
      timer({ outcome: 'failed' });
      throw classifiedFailure(input.streamId, error);
    });
    timer({ outcome: 'stored' });
    eventsAppended.inc(result.appended);
    // The activity context's logger: the record carries the workflow id and run id.
    log.info('events recorded', { streamId: input.streamId, appended: result.appended, streamPosition: result.streamPosition });
    return {
      streamPosition: result.streamPosition,
      appended: result.appended,
      events: result.events.map((e) => ({ eventId: e.eventId, type: e.type, data: e.data })),
    };
  }
}

/**
 * How a failed append reaches the workflow. Infrastructure errors (connection lost, timeouts,
 * deadlocks, serialization failures, admin shutdown) are thrown as they are and retried by the
 * activity's retry policy. A record PostgreSQL can never store fails for good as
 * `UnstorableRecord`, naming the stream, the event and PostgreSQL's message; a content conflict
 * keeps its `EventStoreError` type, also non-retryable.
 */
export function classifiedFailure(streamId: string, error: unknown): unknown {
  if (error instanceof UnstorableRecordError) {
    return ApplicationFailure.create({
      type: 'UnstorableRecord',
      message: error.message,
      nonRetryable: true,
      details: [{ streamId: error.streamId, eventId: error.eventId ?? null, sqlState: error.sqlState ?? null, databaseMessage: error.databaseMessage }],
      cause: error,
    });
  }
  if (error instanceof EventStoreError) {
    return ApplicationFailure.create({ type: 'EventStoreError', message: error.message, nonRetryable: true, details: [{ code: error.code }], cause: error });
  }
  const cls = classifyDatabaseError(error);
  if (cls.kind === 'unstorable') {
    return ApplicationFailure.create({
      type: 'UnstorableRecord',
      message: `stream ${streamId}: the events cannot be stored: ${cls.message}${cls.code ? ` [${cls.code}]` : ''}`,
      nonRetryable: true,
      details: [{ streamId, eventId: null, sqlState: cls.code ?? null, databaseMessage: cls.message }],
    });
  }
  return error;
}
