import { canonicalJson } from '@concentra/domain';
import type { NewEvent, StoredEvent } from '@concentra/persistence';
import type { CycleBundle } from './bundle';
import { EventType, decodePayload, eventNumber, historyFromPlain, type History } from './history';

/** The activity through which workflows append their decisions (libs/persistence EventActivities). */
export const RECORD_EVENTS_ACTIVITY = 'recordEvents';

export interface WorkflowStep {
  workflowId: string;
  runId: string;
  /** The ActivityTaskScheduled event that carried the decision. */
  scheduledEventId: number;
  completed: boolean;
  streamId: string;
  event: NewEvent;
}

export type CrossCheckProblem =
  | { problem: 'missing_in_store'; eventId: string; type: string; step: Omit<WorkflowStep, 'event'> }
  | { problem: 'content_differs'; eventId: string; type: string; step: Omit<WorkflowStep, 'event'>; field: string }
  | { problem: 'untraced'; eventId: string; type: string; streamId: string; position: number }
  | { problem: 'run_mismatch'; eventId: string; type: string; expectedRunId: string; storedRunId: string | null };

export interface CrossCheckReport {
  ok: boolean;
  /** Decisions the histories carried to the event activity. */
  steps: number;
  /** Domain events in the bundle. */
  events: number;
  matched: number;
  /** Scheduled but not (yet) completed: the workflow was still at that step. Not an error. */
  pending: string[];
  problems: CrossCheckProblem[];
}

/** Every decision a history hands to recordEvents, with the step that carried it. */
export function decisionsInHistory(workflowId: string, runId: string, history: History | unknown): WorkflowStep[] {
  const h = isProto(history) ? (history as History) : historyFromPlain(history);
  const events = h.events ?? [];
  const completed = new Set(
    events
      .filter((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED)
      .map((e) => Number(e.activityTaskCompletedEventAttributes?.scheduledEventId ?? 0)),
  );
  const steps: WorkflowStep[] = [];
  for (const e of events) {
    if (e.eventType !== EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) continue;
    const attrs = e.activityTaskScheduledEventAttributes;
    if (attrs?.activityType?.name !== RECORD_EVENTS_ACTIVITY) continue;
    const input = decodePayload(attrs.input?.payloads?.[0]) as { streamId: string; events: NewEvent[] } | undefined;
    for (const event of input?.events ?? []) {
      steps.push({ workflowId, runId, scheduledEventId: eventNumber(e), completed: completed.has(eventNumber(e)), streamId: input!.streamId, event });
    }
  }
  return steps;
}

/**
 * Both directions: every decision in a Temporal history has its domain event (same id, same
 * content, written by the same run), and every domain event traces to a workflow step.
 */
export function crossCheck(bundle: Pick<CycleBundle, 'workflows' | 'events'>): CrossCheckReport {
  const steps = bundle.workflows.flatMap((w) => decisionsInHistory(w.workflowId, w.runId, w.history));
  const stored = new Map(bundle.events.map((e) => [e.eventId, e]));
  const traced = new Set<string>();
  const problems: CrossCheckProblem[] = [];
  const pending: string[] = [];
  let matched = 0;
  for (const step of steps) {
    const { event, ...where } = step;
    const found = stored.get(event.eventId);
    if (!found) {
      if (step.completed) problems.push({ problem: 'missing_in_store', eventId: event.eventId, type: event.type, step: where });
      else pending.push(event.eventId);
      continue;
    }
    if (traced.has(event.eventId)) continue; // a retried step after continue-as-new: traced already
    traced.add(event.eventId);
    const field = differingField(found, step);
    if (field && !step.completed) {
      // An append that failed for good (a batch the store refused) stored nothing: the commands
      // applied again one at a time may hold its ids with other content. The completed step traces it.
      traced.delete(event.eventId);
      continue;
    }
    if (field) {
      problems.push({ problem: 'content_differs', eventId: event.eventId, type: event.type, step: where, field });
      continue;
    }
    const storedRun = typeof found.metadata.runId === 'string' ? found.metadata.runId : null;
    if (storedRun !== step.runId) {
      problems.push({ problem: 'run_mismatch', eventId: event.eventId, type: event.type, expectedRunId: step.runId, storedRunId: storedRun });
      continue;
    }
    matched += 1;
  }
  for (const e of bundle.events) {
    if (!traced.has(e.eventId)) problems.push({ problem: 'untraced', eventId: e.eventId, type: e.type, streamId: e.streamId, position: e.streamPosition });
  }
  return { ok: problems.length === 0, steps: steps.length, events: bundle.events.length, matched, pending, problems };
}

function differingField(stored: StoredEvent, step: WorkflowStep): string | null {
  const e = step.event;
  if (stored.streamId !== step.streamId) return 'streamId';
  if (stored.type !== e.type) return 'type';
  if (canonicalJson(stored.data) !== canonicalJson(JSON.parse(JSON.stringify(e.data ?? {})))) return 'data';
  if (Date.parse(stored.occurredAt) !== Date.parse(e.occurredAt)) return 'occurredAt';
  // The activity adds workflowId and runId; everything else must be what the workflow said.
  const { workflowId: _w, runId: _r, ...storedMeta } = stored.metadata;
  const { workflowId: _w2, runId: _r2, ...sentMeta } = e.metadata ?? {};
  if (canonicalJson(storedMeta) !== canonicalJson(JSON.parse(JSON.stringify(sentMeta)))) return 'metadata';
  if (stored.metadata.workflowId !== undefined && stored.metadata.workflowId !== step.workflowId) return 'metadata.workflowId';
  return null;
}

function isProto(history: unknown): boolean {
  const first = (history as { events?: { eventType?: unknown }[] })?.events?.[0];
  return typeof first?.eventType === 'number';
}
