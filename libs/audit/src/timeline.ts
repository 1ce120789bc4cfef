/**
 * The two timelines of recorded events, in the one wording of event-sentences.ts: the auditors'
 * (`timeline`: every stream, who by name, the policy) and a cycle's own (`cycleTimelineEntry`, the
 * API's `GET /v1/cycles/:id/timeline`: position, stage and actor).
 */
import type { StoredEvent } from '@concentra/persistence';
import { attribute } from './attribution';
import { describeEvent } from './event-sentences';

export { describeEvent };

/** One event of a cycle's own timeline. */
export interface CycleTimelineEntry {
  position: number;
  eventId: string;
  type: string;
  occurredAt: string;
  /** The stage the cycle was in once this event was applied. */
  stage: string | null;
  /** Who caused it: `role:subject` (`system:workflow` for deadlines and the cycle's own steps). */
  actor: string | null;
  /** One readable sentence. */
  summary: string;
  /** Who is answerable when the event is a rule's consequence (issue 15): the decision's approver, `policy default` or `policy`; else absent. */
  by?: string;
  /** What set a consequence off (the triggering action), as a sentence; else absent. */
  cause?: string;
  data: Record<string, unknown>;
}

/** A cycle's own timeline: each event's entry, consequences attributed to the rule that produced them. */
export function cycleTimelineEntries(events: readonly StoredEvent[]): CycleTimelineEntry[] {
  const attributed = attribute(events);
  return events.map((event) => {
    const entry = cycleTimelineEntry(event);
    const a = attributed.get(event.eventId);
    return a ? { ...entry, summary: a.summary ?? entry.summary, by: a.who, cause: a.cause } : entry;
  });
}

export function cycleTimelineEntry(event: StoredEvent): CycleTimelineEntry {
  const actor = event.metadata.actor;
  return {
    position: event.streamPosition,
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    stage: typeof event.metadata.stage === 'string' ? event.metadata.stage : null,
    actor: actor ? `${actor.role}:${actor.subject}` : null,
    summary: describeEvent(event.type, event.data),
    data: event.data,
  };
}

export interface TimelineEntry {
  at: string;
  streamId: string;
  position: number;
  eventId: string;
  type: string;
  /** Who: the person named in the decision (approver, reviewer, submitter), else the actor recorded with it. */
  who: string;
  policyHash: string | null;
  summary: string;
  /** What set it off, when it is a rule's consequence rather than the act of whoever sent the command. */
  cause?: string;
}

type Data = Record<string, unknown>;

function who(event: StoredEvent): string {
  const d = event.data as Data;
  const approval = d.approval as { by?: string } | string | undefined;
  if (approval === 'policy default') return 'policy default';
  const named = (approval && typeof approval === 'object' && approval.by) || d.by || d.reviewer || d.evaluator || d.submittedBy || d.declaredBy || d.recordedBy || d.scorer;
  if (typeof named === 'string') return named;
  const actor = event.metadata.actor;
  return actor ? `${actor.role}:${actor.subject}` : 'system';
}

/** A readable account of who did what when, under which policy, in the order it happened. */
export function timeline(events: readonly StoredEvent[]): TimelineEntry[] {
  const attributed = attribute(events);
  return [...events]
    .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.globalPosition - b.globalPosition)
    .map((event) => {
      const d = event.data as Data;
      const policyHash = event.metadata.policyHash ?? (typeof d.policyHash === 'string' ? d.policyHash : null);
      const a = attributed.get(event.eventId);
      return {
        at: event.occurredAt,
        streamId: event.streamId,
        position: event.streamPosition,
        eventId: event.eventId,
        type: event.type,
        who: a?.who ?? who(event),
        policyHash,
        summary: a?.summary ?? describeEvent(event.type, d),
        ...(a ? { cause: a.cause } : {}),
      };
    });
}

export function formatTimeline(entries: readonly TimelineEntry[]): string[] {
  return entries.map(
    (e) => `${e.at}  ${e.streamId} #${e.position}  ${e.type}  by ${e.who}${e.policyHash ? `  [policy ${e.policyHash.slice(0, 12)}]` : ''}  ${e.summary}${e.cause ? `; set off by ${e.cause}` : ''}`,
  );
}

/** A delivery of the notifications outbox, as the timeline shows it (addresses already masked for auditors). */
export interface TimelineNotification {
  key: string;
  kind: string;
  channel: string;
  address: string;
  status: string;
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  deliveredAt: string | null;
  messageId: string;
}

/**
 * The notifications of a cycle as timeline entries, at the moment they arrived (or were last
 * tried), for merging with the events' entries: who was told what, by which channel, and whether
 * it arrived. They are not events: their position is 0 and their id is the delivery's key.
 */
export function notificationEntries(cycleId: string, notifications: readonly TimelineNotification[]): TimelineEntry[] {
  const outcome: Record<string, string> = { delivered: 'NotificationDelivered', dead: 'NotificationDeadLettered', unaddressed: 'NotificationUnaddressed' };
  return notifications.map((n) => ({
    at: n.deliveredAt ?? n.lastAttemptAt ?? n.createdAt,
    streamId: cycleId,
    position: 0,
    eventId: n.key,
    type: outcome[n.status] ?? 'NotificationPending',
    who: 'system:notifications',
    policyHash: null,
    summary: `${n.kind} to ${n.address} by ${n.channel}: ${n.status} after ${n.attempts} attempt${n.attempts === 1 ? '' : 's'} (${n.messageId})`,
  }));
}

/** The events' entries and the notifications' entries in one order of time (events first at a tie). */
export function withNotifications(entries: readonly TimelineEntry[], notifications: readonly TimelineEntry[]): TimelineEntry[] {
  return [...entries, ...notifications].map((e, i) => ({ e, i })).sort((a, b) => Date.parse(a.e.at) - Date.parse(b.e.at) || a.i - b.i).map(({ e }) => e);
}
