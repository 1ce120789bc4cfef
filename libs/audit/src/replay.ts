import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { bundleWorkflows, workflowSinks } from '@concentra/temporal';
import type { CycleBundle } from './bundle';
import { eventNumber, eventTypeName, historyFromPlain, type History } from './history';

export interface ReplayOutcome {
  workflowId: string;
  runId: string;
  ok: boolean;
  /** Set when the current code does not reproduce the history. */
  divergence?: {
    kind: 'nondeterminism' | 'failure';
    errorName: string;
    message: string;
    /** The history event where the code and the history parted, when the SDK names it. */
    eventId: number | null;
    eventType: string | null;
  };
}

export interface ReplayReport {
  ok: boolean;
  sdkVersion?: string;
  workflows: ReplayOutcome[];
}

export interface HistoryToReplay {
  workflowId: string;
  runId?: string;
  history: History | unknown;
}

/**
 * Replays recorded histories against workflow code (by default the current bundle of workflows/src)
 * with Temporal's replayer: no server, no network. Each history is reported clean or with the
 * non-determinism and the event where it diverged.
 */
export async function replayHistories(histories: HistoryToReplay[], options: { workflowBundle?: WorkflowBundleWithSourceMap } = {}): Promise<ReplayReport> {
  const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
  const parsed = histories.map((h) => ({ ...h, parsed: isProto(h.history) ? (h.history as History) : historyFromPlain(h.history) }));
  const outcomes: ReplayOutcome[] = [];
  const results = Worker.runReplayHistories(
    { workflowBundle, replayName: 'concentra-audit', sinks: workflowSinks() },
    parsed.map((h) => ({ workflowId: h.workflowId, history: h.parsed })),
  );
  let i = 0;
  for await (const result of results) {
    const source = parsed[i++];
    const runId = source?.runId ?? result.runId;
    if (!result.error) {
      outcomes.push({ workflowId: result.workflowId, runId, ok: true });
      continue;
    }
    const error = result.error;
    const eventId = divergingEventId(error.message);
    const event = eventId === null ? undefined : source?.parsed.events?.find((e) => eventNumber(e) === eventId);
    outcomes.push({
      workflowId: result.workflowId,
      runId,
      ok: false,
      divergence: {
        kind: error instanceof DeterminismViolationError ? 'nondeterminism' : 'failure',
        errorName: error.name,
        message: error.message,
        eventId,
        eventType: event ? eventTypeName(event) : typeFromMessage(error.message),
      },
    });
  }
  return { ok: outcomes.every((o) => o.ok), workflows: outcomes };
}

export async function replayBundle(bundle: CycleBundle, options: { workflowBundle?: WorkflowBundleWithSourceMap } = {}): Promise<ReplayReport> {
  const report = await replayHistories(
    bundle.workflows.map((w) => ({ workflowId: w.workflowId, runId: w.runId, history: w.history })),
    options,
  );
  return { ...report, sdkVersion: bundle.temporal.sdkVersion };
}

function isProto(history: unknown): boolean {
  const first = (history as { events?: { eventType?: unknown }[] })?.events?.[0];
  return typeof first?.eventType === 'number';
}

/** Core names the event in its message, e.g. "HistoryEvent(id: 5, ActivityTaskScheduled)" or "event 5". */
export function divergingEventId(message: string): number | null {
  const patterns = [/HistoryEvent\(id:\s*(\d+)/i, /event[_ ]id[:= ]+(\d+)/i, /\bevent\s+#?(\d+)\b/i, /\bid\s+(\d+)\b/i];
  for (const pattern of patterns) {
    const match = pattern.exec(message);
    if (match) return Number(match[1]);
  }
  return null;
}

function typeFromMessage(message: string): string | null {
  const match = /HistoryEvent\(id:\s*\d+,\s*(\w+)\)/.exec(message);
  return match ? match[1] : null;
}
