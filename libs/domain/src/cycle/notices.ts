/**
 * Who must be told about a recorded decision: a pure rule from one event to the notices it causes.
 * The outbox projection writes them (keyed by the event id and the audience, so a retried append or
 * a rebuild writes nothing twice); the notification relay turns an audience into people through the
 * directory. Reminders, escalations and GPU thresholds are written by the workflows themselves.
 */

/** Whom a notice is for: a team (its application's organisations), the program's managers, or a named person. */
export type NoticeAudience =
  | { role: 'applicant'; applicationId: string; organisationId?: string }
  | { role: 'program_manager' }
  | { role: 'reviewer' | 'evaluator'; subject: string };

/** Every kind of decision notice (the templates of libs/notifications have one per kind and language). */
export const NOTICE_KINDS = [
  'dropped_in_review',
  'selected',
  'not_selected',
  'narrowing_kept',
  'narrowing_dropped',
  'submission_missing',
  'eliminated',
  'objection_decided',
  'refill_selected',
  'refill_not_selected',
  'grant_started',
  'grant_extended',
  'grant_ended',
  'grant_gpus_changed',
  'grant_gpus_withheld',
  'grant_gpus_served',
  'procurement_opened',
  'procurement_awarded',
  'procurement_missing',
  'model_released',
  'cycle_cancelled',
  // Issue 15: milestones and reports of a grant.
  'grant_report_reviewed',
  'grant_report_consequence',
  'grant_sanction_lifted',
] as const;

export type NoticeKind = (typeof NOTICE_KINDS)[number];

export interface Notice {
  /** `<eventId>:<audience>`: the outbox keeps one row per key. */
  key: string;
  kind: NoticeKind;
  recipient: NoticeAudience;
  /** What the template needs (ids, instants, numbers); never personal data. */
  body: Record<string, unknown>;
  /** The instant the notice is about (the decision's own time). */
  dueAt: string;
}

export interface NoticeSource {
  eventId: string;
  streamId: string;
  type: string;
  data: Record<string, unknown>;
  occurredAt: string;
}

type D = Record<string, unknown>;
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** The notices one event causes, in a stable order (none for events that decide nothing about people). */
export function noticesFor(event: NoticeSource): Notice[] {
  if (!event.streamId.startsWith('cycle:')) return [];
  const d = event.data as D;
  const at = str(d.decidedAt) ?? str(d.at) ?? str(d.startedAt) ?? str(d.endedAt) ?? str(d.openedAt) ?? str(d.closedAt) ?? event.occurredAt;
  const team = (kind: NoticeKind, applicationId: string, body: D = {}): Notice => ({
    key: `${event.eventId}:team:${applicationId}`,
    kind,
    recipient: { role: 'applicant', applicationId },
    body: { applicationId, ...body },
    dueAt: at,
  });
  const managers = (kind: NoticeKind, body: D): Notice => ({ key: `${event.eventId}:program_manager`, kind, recipient: { role: 'program_manager' }, body, dueAt: at });
  switch (event.type) {
    case 'ReviewRoundClosed':
      return list(d.dropped).map((a) => team('dropped_in_review', a, { round: d.round }));
    case 'PeerReviewsMissed':
      // Issue 15: an application rejected by the peer-review rule hears of it as one dropped in review (the others keep competing).
      return d.rule === 'reject_own_application' ? [team('dropped_in_review', String(d.applicationId), { round: Number(String(d.roundKey).split(':')[1]), reason: 'peer_reviews_missed' })] : [];
    case 'AwardeesSelected': {
      // `decisionKey` and `decidedAt` name this taking of the decision: a window that starts on
      // notice looks for the delivery of exactly these notices.
      const window = { decisionKey: d.decisionKey, decidedAt: d.decidedAt, objectionWindowEndsAt: d.objectionWindowEndsAt ?? null, ...(d.objectionWindow ? { objectionWindow: d.objectionWindow } : {}) };
      return [...list(d.awardees).map((a) => team('selected', a, window)), ...list(d.notSelected).map((a) => team('not_selected', a, window))];
    }
    case 'TeamsNarrowed': {
      const window = { decisionKey: d.decisionKey, decidedAt: d.decidedAt, round: d.round, objectionWindowEndsAt: d.objectionWindowEndsAt ?? null, ...(d.objectionWindow ? { objectionWindow: d.objectionWindow } : {}) };
      // The dropped teams hear of it now when they may object (their elimination follows the
      // window). Narrowings recorded before `objectionWindow` existed told them only then, and
      // keep doing so: a rebuild from zero tells nobody anything new about an old decision.
      const dropped = d.objectionWindow ? list(d.dropped).map((a) => team('narrowing_dropped', a, window)) : [];
      return [...list(d.kept).map((a) => team('narrowing_kept', a, window)), ...dropped];
    }
    case 'EvaluationSubmissionsClosed':
      // A team that submitted nothing is scored zero or eliminated (then told by TeamEliminated as well).
      return list(d.missing).map((a) => team('submission_missing', a, { roundKey: d.roundKey, outcome: d.outcome }));
    case 'TeamEliminated':
      return [team('eliminated', String(d.applicationId), { round: d.round, reason: d.reason })];
    case 'ObjectionDecided':
      return [team('objection_decided', String(d.applicationId), { upheld: d.upheld, reasoning: d.reasoning })];
    case 'RefillEntrantsSelected':
      return [...list(d.entrants).map((a) => team('refill_selected', a)), ...list(d.notSelected).map((a) => team('refill_not_selected', a))];
    case 'GrantStarted':
      return [team('grant_started', String(d.applicationId), { grantId: d.grantId })];
    case 'GrantExtended':
      return [team('grant_extended', String(d.applicationId), { grantId: d.grantId, extendedUntil: d.extendedUntil })];
    case 'GrantEnded':
      return [team('grant_ended', String(d.applicationId), { grantId: d.grantId, reason: d.reason, gpuHoursUsed: d.gpuHoursUsed })];
    case 'GrantGpusChanged':
      return [team('grant_gpus_changed', String(d.applicationId), { grantId: d.grantId, gpus: d.gpus, previous: d.previous, cause: d.cause, rationale: d.rationale })];
    case 'GrantGpusWithheld':
      return [team('grant_gpus_withheld', String(d.applicationId), { grantId: d.grantId, kind: d.kind, served: d.served, asked: d.asked, retryUntil: d.retryUntil })];
    case 'GrantGpusServed':
      return [team('grant_gpus_served', String(d.applicationId), { grantId: d.grantId, served: d.served })];
    case 'ProcurementOpened':
      return list(d.finalists).map((a) => team('procurement_opened', a, { contractsDueAt: d.contractsDueAt, releaseDueAt: d.releaseDueAt }));
    case 'ProcurementAwarded':
      return [team('procurement_awarded', String(d.applicationId), { contractId: d.contractId, agency: d.agency, model: d.model })];
    case 'ProcurementDeadlinePassed':
      return [
        ...list(d.missing).map((a) => team('procurement_missing', a, { deadline: d.deadline })),
        ...(list(d.missing).length > 0 ? [managers('procurement_missing', { deadline: d.deadline, missing: list(d.missing) })] : []),
      ];
    case 'ModelReleased':
      return [team('model_released', String(d.applicationId), { repository: d.repository, licence: d.licence })];
    case 'GrantReportReviewed':
      return [team('grant_report_reviewed', String(d.applicationId), { grantId: d.grantId, reportId: d.reportId, kind: d.kind, outcome: d.outcome })];
    case 'GrantReportConsequenceApplied': {
      // The team, and the program managers (a throttle, a suspension or a termination is theirs to follow up).
      const body = { grantId: d.grantId, reportId: d.reportId, kind: d.kind, action: d.action, dueAt: d.dueAt, rule: d.rule };
      return [team('grant_report_consequence', String(d.applicationId), body), managers('grant_report_consequence', { applicationId: d.applicationId, ...body })];
    }
    case 'GrantSanctionLifted': {
      // The team (its GPUs are back), and the program managers who follow the sanction up.
      const body = { grantId: d.grantId, reportId: d.reportId, kind: d.kind, lifted: d.lifted, on: d.on, by: d.by, rule: d.rule };
      return [team('grant_sanction_lifted', String(d.applicationId), body), managers('grant_sanction_lifted', { applicationId: d.applicationId, ...body })];
    }
    case 'CycleCancelled':
      // Every team the cycle still held, and the managers (`affected` is absent in older records).
      return [...list(d.affected).map((a) => team('cycle_cancelled', a, { reason: d.reason, stage: d.stage })), managers('cycle_cancelled', { reason: d.reason, stage: d.stage })];
    default:
      return [];
  }
}
