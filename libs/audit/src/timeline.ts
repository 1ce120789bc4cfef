import type { StoredEvent } from '@concentra/persistence';

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
}

type Data = Record<string, unknown>;
const list = (v: unknown) => (Array.isArray(v) && v.length > 0 ? v.map(String).join(', ') : 'none');
const str = (v: unknown) => (v === undefined || v === null ? '' : String(v));

/** One line of prose per known event type; anything else is shown by its plain fields. */
const SUMMARIES: Record<string, (d: Data) => string> = {
  ProgramCreated: (d) => `program ${str(d.slug)} created ("${str(d.name)}")`,
  CallOpened: (d) => `call opened for ${str(d.program)} ${str(d.year)}, closes ${str(d.closesAt)}`,
  CallClosed: (d) => `call closed${d.reason ? ` (${str(d.reason)})` : ''}; applications: ${Array.isArray(d.applications) ? list(d.applications) : str(d.applications)}`,
  ApplicationSubmitted: (d) => `application ${str(d.applicationId)} "${str(d.title)}" submitted`,
  ApplicationWithdrawn: (d) => `application ${str(d.applicationId)} withdrawn`,
  ReviewRoundOpened: (d) => `review round ${str(d.roundKey)} opened for ${list(d.applications)}, due ${str(d.dueAt)}`,
  ReviewSubmitted: (d) => `review ${str(d.reviewId)} of ${str(d.applicationId)} by ${str(d.reviewer)}: ${JSON.stringify(d.scores ?? {})}`,
  ConflictOfInterestDeclared: (d) => `${str(d.scorer)} declared a conflict of interest with ${str(d.applicationId)}: ${str(d.reason)}`,
  ReviewRoundClosed: (d) => `review round ${str(d.roundKey)} closed; kept ${list(d.kept)}; dropped ${list(d.dropped)}`,
  SelectionProposed: (d) => `selection proposed: ${list(d.proposed)} (of ${list(d.candidates)}), approval due ${str(d.approvalDueAt)}`,
  AwardeesSelected: (d) => `awardees selected: ${list(d.awardees)}; not selected: ${list(d.notSelected)}${decisionNote(d)}`,
  NarrowingProposed: (d) => `narrowing ${str(d.round)} proposed: keep ${list(d.proposed)} (of ${list(d.candidates)})`,
  TeamsNarrowed: (d) => `narrowing ${str(d.round)}: kept ${list(d.kept)}; dropped ${list(d.dropped)}${decisionNote(d)}`,
  TeamEliminated: (d) => `team ${str(d.applicationId)} eliminated (${str(d.reason)}, round ${str(d.round)})`,
  ObjectionFiled: (d) => `objection by ${str(d.applicationId)} against ${str(d.decisionKey)}: ${str(d.grounds)}`,
  ObjectionDecided: (d) => `objection of ${str(d.applicationId)} ${d.upheld ? 'upheld' : 'dismissed'}: ${str(d.reasoning)}`,
  EvaluationScoresSubmitted: (d) => `evaluation ${str(d.scoreSetId)} of ${str(d.applicationId)} by ${str(d.evaluator)}: ${JSON.stringify(d.scores ?? {})}`,
  ModelSubmitted: (d) => `model of ${str(d.applicationId)} submitted for ${str(d.roundKey)} (sha256 ${str((d.artifact as Data | undefined)?.sha256).slice(0, 12)})`,
  GrantStarted: (d) => `grant ${str(d.grantId)} started for ${str(d.applicationId)}`,
  GrantEnded: (d) => `grant ${str(d.grantId)} ended (${str(d.reason)})`,
  GrantExtended: (d) => `grant of ${str(d.applicationId)} extended until ${str(d.extendedUntil)}`,
  ProcurementAwarded: (d) => `procurement contract ${str(d.contractId)} for ${str(d.applicationId)} (${str(d.model)}) with ${str(d.agency)}`,
  ModelReleased: (d) => `model of ${str(d.applicationId)} released at ${str(d.repository)} (${str(d.licence)})`,
  EscalationRaised: (d) => `escalation: ${str(d.reason)}: ${str(d.details)}`,
  CycleClosed: (d) => `cycle closed: ${str(d.outcome)}; finalists ${list(d.finalists)}`,
  CycleCancelled: (d) => `cycle cancelled: ${str(d.reason)}`,
  AuditAccessed: (d) => `audit ${str(d.action)} of ${str(d.target)}`,
};

function decisionNote(d: Data): string {
  const approval = d.approval as { by?: string; rationale?: string } | string | undefined;
  const how = approval === 'policy default' ? ' (policy default, nobody approved in time)' : approval && typeof approval === 'object' ? ` (approved by ${str(approval.by)})` : '';
  return `${how}${d.overridden ? `; overrides the ranking: ${str(d.rationale)}` : ''}`;
}

function who(event: StoredEvent): string {
  const d = event.data as Data;
  const approval = d.approval as { by?: string } | string | undefined;
  if (approval === 'policy default') return 'policy default';
  const named = (approval && typeof approval === 'object' && approval.by) || d.by || d.reviewer || d.evaluator || d.submittedBy || d.declaredBy || d.recordedBy || d.scorer;
  if (typeof named === 'string') return named;
  const actor = event.metadata.actor;
  return actor ? `${actor.role}:${actor.subject}` : 'system';
}

function fallback(d: Data): string {
  return Object.entries(d)
    .filter(([k, v]) => k !== 'stage' && k !== 'policy' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .slice(0, 4)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
}

/** A readable account of who did what when, under which policy, in the order it happened. */
export function timeline(events: readonly StoredEvent[]): TimelineEntry[] {
  return [...events]
    .sort((a, b) => Date.parse(a.occurredAt) - Date.parse(b.occurredAt) || a.globalPosition - b.globalPosition)
    .map((event) => {
      const d = event.data as Data;
      const summarize = SUMMARIES[event.type];
      const policyHash = event.metadata.policyHash ?? (typeof d.policyHash === 'string' ? d.policyHash : null);
      return {
        at: event.occurredAt,
        streamId: event.streamId,
        position: event.streamPosition,
        eventId: event.eventId,
        type: event.type,
        who: who(event),
        policyHash,
        summary: summarize ? summarize(d) : fallback(d),
      };
    });
}

export function formatTimeline(entries: readonly TimelineEntry[]): string[] {
  return entries.map(
    (e) => `${e.at}  ${e.streamId} #${e.position}  ${e.type}  by ${e.who}${e.policyHash ? `  [policy ${e.policyHash.slice(0, 12)}]` : ''}  ${e.summary}`,
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
