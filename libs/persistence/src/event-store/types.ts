/** What a writer hands the store. The id is deterministic (workflow id + sequence) so retries are no-ops. */
export interface NewEvent {
  eventId: string;
  type: string;
  schemaVersion?: number;
  data: Record<string, unknown>;
  metadata: EventMetadata;
  /** When the decision was taken: workflow time for workflow events, so it replays identically. */
  occurredAt: string;
}

export interface EventMetadata {
  workflowId?: string;
  runId?: string;
  causationId?: string;
  actor?: { role: string; subject: string; organisationId?: string };
  policyHash?: string;
  [key: string]: unknown;
}

export interface StoredEvent extends Required<NewEvent> {
  streamId: string;
  streamPosition: number;
  globalPosition: number;
  recordedAt: string;
  prevHash: string | null;
  hash: string;
}

export type EventStoreErrorCode = 'event_id_conflict' | 'wrong_expected_position' | 'invalid_event' | 'unstorable_record';

export class EventStoreError extends Error {
  constructor(
    readonly code: EventStoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EventStoreError';
  }
}

/**
 * PostgreSQL refused the record itself (a SQLSTATE class 22 data exception such as 22P05 for a NUL
 * in jsonb, or 54000): no retry will ever store it. Names the stream, the event and PostgreSQL's message.
 */
export class UnstorableRecordError extends EventStoreError {
  constructor(
    readonly streamId: string,
    readonly eventId: string | undefined,
    readonly sqlState: string | undefined,
    readonly databaseMessage: string,
  ) {
    super('unstorable_record', `stream ${streamId}: event ${eventId ?? '(batch)'} cannot be stored: ${databaseMessage}${sqlState ? ` [${sqlState}]` : ''}`);
  }
}
