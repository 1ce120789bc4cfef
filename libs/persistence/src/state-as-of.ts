import { evolveAll, type CycleEvent, type CycleState } from '@concentra/domain';
import type { EventStore } from './event-store/event-store';
import type { StoredEvent } from './event-store/types';

export interface TimelineStep {
  position: number;
  eventId: string;
  type: string;
  occurredAt: string;
  actor: string | null;
  policyHash: string | null;
}

/** A cycle as the events alone say it was at a moment: no projection, no workflow is asked. */
export interface CycleStateAsOf {
  cycleId: string;
  asOf: string;
  /** Whether the cycle had started by then. */
  exists: boolean;
  stage: string | null;
  /** Position of the last event taken into account (0: none). */
  position: number;
  lastEventAt: string | null;
  policyHash: string | null;
  timeline: TimelineStep[];
  /** The domain's own state (libs/domain `evolve`), when the events are the engine's cycle events. */
  state: CycleState | null;
}

/** Reads the cycle's stream up to `asOf` (by occurred_at, the workflow's decision time) and folds it. */
export async function cycleStateAsOf(store: EventStore, cycleId: string, asOf: string | Date): Promise<CycleStateAsOf> {
  const at = new Date(asOf);
  if (Number.isNaN(at.getTime())) throw new RangeError(`not a timestamp: ${String(asOf)}`);
  const events = await store.readStream(cycleId, { until: at.toISOString() });
  return foldCycle(cycleId, events, at.toISOString());
}

/**
 * Folds events (in stream order, those after `asOf` left out) into a state. Pure: the API, the CLI
 * and a bundle read offline all answer the same.
 */
export function foldCycle(cycleId: string, events: readonly StoredEvent[], asOf: string): CycleStateAsOf {
  const until = Date.parse(asOf);
  const taken = [...events]
    .filter((e) => e.streamId === cycleId && Date.parse(e.occurredAt) <= until)
    .sort((a, b) => a.streamPosition - b.streamPosition);
  let stage: string | null = null;
  let policyHash: string | null = null;
  const timeline: TimelineStep[] = [];
  for (const event of taken) {
    const data = event.data as { stage?: unknown; policyHash?: unknown };
    // The workflow records the stage after each event in its metadata (the skeleton put it in data).
    const recordedStage = typeof event.metadata.stage === 'string' ? event.metadata.stage : data.stage;
    if (typeof recordedStage === 'string') stage = recordedStage;
    const hash = event.metadata.policyHash ?? (typeof data.policyHash === 'string' ? data.policyHash : undefined);
    if (hash) policyHash = hash;
    const actor = event.metadata.actor;
    timeline.push({
      position: event.streamPosition,
      eventId: event.eventId,
      type: event.type,
      occurredAt: event.occurredAt,
      actor: actor ? `${actor.role}:${actor.subject}` : null,
      policyHash: hash ?? null,
    });
  }
  const state = domainState(taken);
  if (state && state.stage !== 'not_started' && isEngineHistory(taken)) stage = state.stage;
  const last = taken[taken.length - 1];
  return {
    cycleId,
    asOf,
    exists: taken.length > 0,
    stage,
    position: last?.streamPosition ?? 0,
    lastEventAt: last?.occurredAt ?? null,
    policyHash,
    timeline,
    state,
  };
}

/** The engine's CallOpened carries the whole policy and the lottery seed; the skeleton's does not. */
function isEngineHistory(events: readonly StoredEvent[]): boolean {
  const opened = events.find((e) => e.type === 'CallOpened');
  return !!opened && typeof (opened.data as { lotterySeed?: unknown }).lotterySeed === 'string';
}

function domainState(events: readonly StoredEvent[]): CycleState | null {
  if (!isEngineHistory(events)) return null;
  try {
    return evolveAll(events.map((e) => ({ type: e.type, data: e.data }) as unknown as CycleEvent));
  } catch {
    return null; // events the domain does not know (yet): the generic fold above still answers
  }
}
