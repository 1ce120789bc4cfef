/**
 * Measures a workflow's histories against the payload and history budgets: every run of a
 * workflow id (following continue-as-new from the first run), its number of events, its encoded
 * size, and every payload in it — workflow input and continue-as-new carry, Update inputs and
 * results, activity inputs and results, child inputs, signals, markers — sized as Temporal sizes
 * them (the encoded `Payloads` message), so the figure is the one its blob-size limits compare.
 */
import { type Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

type IHistory = temporal.api.history.v1.IHistory;
type IHistoryEvent = temporal.api.history.v1.IHistoryEvent;
type IPayload = temporal.api.common.v1.IPayload;

export const PAYLOAD_BUDGET_BYTES = 256 * 1024;
export const EVENTS_BUDGET = 10_000;

export interface PayloadSeen {
  bytes: number;
  /** What it is: "Update input SubmitApplication", "activity result recordEvents", "continue-as-new carry", ... */
  kind: string;
  eventId: number;
}

export interface RunMeasure {
  workflowId: string;
  runId: string;
  events: number;
  /** The encoded history, as Temporal's history-size limit counts it. */
  historyBytes: number;
  status: string;
  /** Largest payload of the run. */
  largest: PayloadSeen | null;
  /** Largest payload per kind, and how many of that kind. */
  byKind: Map<string, { count: number; maxBytes: number }>;
  /** The last workflow task failure in the run, if any (a wedge shows here). */
  lastWorkflowTaskFailure: string | null;
  /** Workflow tasks, started to completed (ms): how far each stays below its timeout (10 s by default). */
  workflowTasks: { count: number; p50: number; max: number };
  nextRunId: string | null;
}

const EVENT_TYPE = temporal.api.enums.v1.EventType;

export function eventTypeName(event: IHistoryEvent): string {
  const name = EVENT_TYPE[event.eventType ?? 0] ?? String(event.eventType);
  return name.replace(/^EVENT_TYPE_/, '');
}

function payloadsBytes(payloads: IPayload[]): number {
  return temporal.api.common.v1.Payloads.encode({ payloads }).finish().byteLength;
}

function isPayload(value: unknown): value is IPayload {
  return !!value && typeof value === 'object' && (value as IPayload).data instanceof Uint8Array;
}

/** Every Payloads / Payload in an event's attributes, with the attribute path where it was found. */
function collect(value: unknown, path: string, out: { path: string; bytes: number }[]): void {
  if (!value || typeof value !== 'object' || value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => collect(v, `${path}[${i}]`, out));
    return;
  }
  const payloads = (value as { payloads?: unknown }).payloads;
  if (Array.isArray(payloads) && payloads.every(isPayload)) {
    out.push({ path, bytes: payloadsBytes(payloads) });
    return;
  }
  if (isPayload(value)) {
    out.push({ path, bytes: temporal.api.common.v1.Payload.encode(value).finish().byteLength });
    return;
  }
  for (const [key, v] of Object.entries(value)) collect(v, path ? `${path}.${key}` : key, out);
}

function attributesOf(event: IHistoryEvent): [string, Record<string, unknown>] | null {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventAttributes') && value) return [key, value as Record<string, unknown>];
  }
  return null;
}

/** Names a payload by what the budget talks about. */
function kindOf(type: string, path: string, attrs: Record<string, unknown>, activityTypes: Map<string, string>, continued: boolean): string {
  const a = attrs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (/header|searchAttributes|memo/i.test(path)) return `${type.toLowerCase()} ${path.split('.')[0]}`;
  switch (type) {
    case 'WORKFLOW_EXECUTION_STARTED':
      return continued ? 'run input (continue-as-new carry)' : 'workflow input';
    case 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW':
      return 'continue-as-new carry';
    case 'WORKFLOW_EXECUTION_UPDATE_ACCEPTED':
      return `Update input ${a.acceptedRequest?.input?.name ?? ''}`.trim();
    case 'WORKFLOW_EXECUTION_UPDATE_COMPLETED':
      return path.includes('failure') ? 'Update failure' : 'Update result';
    case 'ACTIVITY_TASK_SCHEDULED':
      return `activity input ${a.activityType?.name ?? ''}`.trim();
    case 'ACTIVITY_TASK_COMPLETED':
      return `activity result ${activityTypes.get(String(a.scheduledEventId)) ?? ''}`.trim();
    case 'START_CHILD_WORKFLOW_EXECUTION_INITIATED':
      return `child input ${a.workflowType?.name ?? ''}`.trim();
    case 'WORKFLOW_EXECUTION_SIGNALED':
      return `signal in ${a.signalName ?? ''}`.trim();
    case 'SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED':
      return `signal out ${a.signalName ?? ''}`.trim();
    case 'WORKFLOW_EXECUTION_COMPLETED':
      return 'workflow result';
    case 'MARKER_RECORDED':
      return `marker ${a.markerName ?? ''}`.trim();
    default:
      return `${type.toLowerCase()} ${path}`;
  }
}

function failureText(failure: temporal.api.failure.v1.IFailure | null | undefined): string {
  const parts: string[] = [];
  for (let f = failure; f; f = f.cause) parts.push(f.message ?? '');
  return parts.filter(Boolean).join(' <- ');
}

export function measureHistory(workflowId: string, runId: string, history: IHistory, status = ''): RunMeasure {
  const events = history.events ?? [];
  const activityTypes = new Map<string, string>();
  const byKind = new Map<string, { count: number; maxBytes: number }>();
  let largest: PayloadSeen | null = null;
  let continued = false;
  let lastWorkflowTaskFailure: string | null = null;
  let nextRunId: string | null = null;
  const taskStarted = new Map<string, number>();
  const taskMs: number[] = [];
  for (const event of events) {
    const type = eventTypeName(event);
    const at = Number(event.eventTime?.seconds ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
    if (type === 'WORKFLOW_TASK_STARTED') taskStarted.set(String(event.eventId), at);
    const ended = event.workflowTaskCompletedEventAttributes ?? event.workflowTaskFailedEventAttributes ?? event.workflowTaskTimedOutEventAttributes;
    if (ended?.startedEventId != null && taskStarted.has(String(ended.startedEventId))) taskMs.push(at - taskStarted.get(String(ended.startedEventId))!);
    const found = attributesOf(event);
    if (!found) continue;
    const [, attrs] = found;
    if (type === 'WORKFLOW_EXECUTION_STARTED') continued = !!(attrs as { continuedExecutionRunId?: string }).continuedExecutionRunId;
    if (type === 'ACTIVITY_TASK_SCHEDULED') activityTypes.set(String(event.eventId), String((attrs as { activityType?: { name?: string } }).activityType?.name ?? ''));
    if (type === 'WORKFLOW_TASK_FAILED') {
      const a = attrs as temporal.api.history.v1.IWorkflowTaskFailedEventAttributes;
      lastWorkflowTaskFailure = `${temporal.api.enums.v1.WorkflowTaskFailedCause[a.cause ?? 0] ?? a.cause}: ${failureText(a.failure)}`;
    }
    if (type === 'WORKFLOW_EXECUTION_CONTINUED_AS_NEW') nextRunId = (attrs as { newExecutionRunId?: string }).newExecutionRunId ?? null;
    const seen: { path: string; bytes: number }[] = [];
    collect(attrs, '', seen);
    for (const { path, bytes } of seen) {
      const kind = kindOf(type, path, attrs, activityTypes, continued);
      const entry = byKind.get(kind) ?? { count: 0, maxBytes: 0 };
      entry.count++;
      entry.maxBytes = Math.max(entry.maxBytes, bytes);
      byKind.set(kind, entry);
      if (!largest || bytes > largest.bytes) largest = { bytes, kind, eventId: Number(event.eventId) };
    }
  }
  return {
    workflowId,
    runId,
    events: events.length,
    historyBytes: temporal.api.history.v1.History.encode(history).finish().byteLength,
    status,
    largest,
    byKind,
    lastWorkflowTaskFailure,
    workflowTasks: { count: taskMs.length, p50: [...taskMs].sort((a, b) => a - b)[Math.floor(taskMs.length / 2)] ?? 0, max: Math.max(0, ...taskMs) },
    nextRunId,
  };
}

/** Every run of a workflow id, from `firstRunId` along continue-as-new (or, without it, from the runs visibility lists). */
export async function measureWorkflowRuns(client: Client, workflowId: string, firstRunId?: string): Promise<RunMeasure[]> {
  let runId = firstRunId;
  if (!runId) {
    const runs: { runId: string; start: number }[] = [];
    for await (const e of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: e.runId, start: e.startTime.getTime() });
    runId = runs.sort((a, b) => a.start - b.start)[0]?.runId;
    if (!runId) return [];
  }
  const measures: RunMeasure[] = [];
  const seen = new Set<string>();
  while (runId && !seen.has(runId)) {
    seen.add(runId);
    const handle = client.workflow.getHandle(workflowId, runId);
    const [history, description] = await Promise.all([handle.fetchHistory(), handle.describe()]);
    const measure = measureHistory(workflowId, runId, history, description.status.name);
    measures.push(measure);
    runId = measure.nextRunId ?? undefined;
  }
  return measures;
}

/** The encoded result of a Query, as the server returns it (the budget counts it like any payload). */
export async function measureQuery(client: Client, workflowId: string, queryType: string): Promise<{ bytes: number } | { error: string }> {
  try {
    const response = await client.workflowService.queryWorkflow({
      namespace: client.options.namespace,
      execution: { workflowId },
      query: { queryType },
    });
    return { bytes: payloadsBytes(response.queryResult?.payloads ?? []) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : bytes >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes} B`;
}
