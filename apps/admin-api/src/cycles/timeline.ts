import type { CycleEvent } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';

export interface TimelineEntry {
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
  data: Record<string, unknown>;
}

const list = (ids: readonly string[]) => (ids.length === 0 ? 'none' : ids.join(', '));
const approvalOf = (a: unknown) => (a === 'policy default' ? 'by policy default' : `approved by ${(a as { by: string }).by}`);

/** A sentence a program manager or an auditor can read, for every event the cycle records. */
export function describe(e: CycleEvent): string {
  switch (e.type) {
    case 'CallOpened':
      return `Call opened for ${e.data.program} ${e.data.year} (policy ${e.data.policyHash.slice(0, 12)}), closing ${e.data.closesAt}`;
    case 'ApplicationSubmitted':
      return `Application "${e.data.applicationId}" (${e.data.title}) submitted by ${e.data.submittedBy} for ${e.data.lead.organisationId}${e.data.members.length ? ` with ${list(e.data.members.map((m) => m.organisationId))}` : ''}`;
    case 'ApplicationWithdrawn':
      return `Application "${e.data.applicationId}" withdrawn by ${e.data.by}${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'MembershipChanged':
      return `Members of "${e.data.applicationId}" changed to ${list(e.data.members.map((m) => m.organisationId))} (approved by ${e.data.approvedBy}: ${e.data.rationale})`;
    case 'CallCutoffPassed':
      return `Call cut-off passed with ${e.data.applications} application(s)`;
    case 'CallClosed':
      return `Call closed (${e.data.reason.replace(/_/g, ' ')}) with ${e.data.applications.length} application(s)`;
    case 'ReviewRoundOpened':
      return `Review round ${e.data.round} opened for ${e.data.applications.length} application(s), due ${e.data.dueAt}`;
    case 'ConflictOfInterestDeclared':
      return `${e.data.scorer} declared a conflict of interest with "${e.data.applicationId}"`;
    case 'ReviewSubmitted':
      return `Review ${e.data.reviewId} of "${e.data.applicationId}" submitted by ${e.data.reviewer}`;
    case 'ReviewDeadlineExtended':
      return `${e.data.deadline.replace(/_/g, ' ')} extended from ${e.data.previousDueAt} to ${e.data.dueAt} (${e.data.missing.length} application(s) short of scores)`;
    case 'EscalationRaised':
      return `Escalated to the program manager (${e.data.reason.replace(/_/g, ' ')}): ${e.data.details}`;
    case 'ReviewRoundClosed':
      return `Review round ${e.data.round} closed: kept ${list(e.data.kept)}; dropped ${list(e.data.dropped)}`;
    case 'SelectionProposed':
      return `Selection proposed${e.data.rerun ? ' again' : ''}: ${list(e.data.proposed)}; approval due ${e.data.approvalDueAt}`;
    case 'AwardeesSelected':
      return `Awardees selected: ${list(e.data.awardees)} (${e.data.overridden ? 'overridden, ' : ''}${approvalOf(e.data.approval)})`;
    case 'NarrowingProposed':
      return `Narrowing of round ${e.data.round} proposed${e.data.rerun ? ' again' : ''}: keep ${list(e.data.proposed)} (planned ${e.data.plannedKeep}); approval due ${e.data.approvalDueAt}`;
    case 'TeamsNarrowed':
      return `Round ${e.data.round} narrowed: kept ${list(e.data.kept)}; dropped ${list(e.data.dropped)} (${e.data.overridden ? 'overridden, ' : ''}${approvalOf(e.data.approval)})`;
    case 'ObjectionFiled':
      return `"${e.data.applicationId}" objected to ${e.data.decisionKey}: ${e.data.grounds}`;
    case 'ObjectionWaived':
      return `"${e.data.applicationId}" waived its objection to ${e.data.decisionKey}`;
    case 'ObjectionWindowClosed':
      return `Objection window of ${e.data.decisionKey} closed${e.data.early ? ' early' : ''}; pending: ${list(e.data.pending)}`;
    case 'ObjectionDecided':
      return `Objection of "${e.data.applicationId}" ${e.data.upheld ? 'upheld' : 'dismissed'} by ${e.data.by}: ${e.data.reasoning}`;
    case 'GrantPeriodStarted':
      return `Grant period started for ${list(e.data.awardees)} until ${e.data.endsAt}`;
    case 'GrantStarted':
      return `Grant ${e.data.grantId} started${e.data.allocationId ? ` (allocation ${e.data.allocationId})` : ''}`;
    case 'GrantEnded':
      return `Grant ${e.data.grantId} ended (${e.data.reason})${e.data.gpuHoursUsed === null ? '' : `, ${e.data.gpuHoursUsed} GPU-hours used`}`;
    case 'GrantPeriodEnded':
      return 'Grant period ended';
    case 'EvaluationRoundOpened':
      return `Evaluation round ${e.data.round} opened for ${list(e.data.teams)}; models due ${e.data.submissionDueAt}, scores due ${e.data.scoringDueAt}`;
    case 'ModelSubmitted':
      return `"${e.data.applicationId}" submitted its model for round ${e.data.round} (${e.data.artifact.uri})`;
    case 'EvaluationSubmissionsClosed':
      return `Model submissions closed: ${list(e.data.submitted)} submitted; missing ${list(e.data.missing)}${e.data.missing.length ? ` (${e.data.outcome.replace(/_/g, ' ')})` : ''}`;
    case 'EvaluationScoresSubmitted':
      return `Evaluation scores ${e.data.scoreSetId} for "${e.data.applicationId}" submitted by ${e.data.evaluator}`;
    case 'TeamEliminated':
      return `"${e.data.applicationId}" eliminated in round ${e.data.round} (${e.data.reason.replace(/_/g, ' ')})`;
    case 'GrantExtended':
      return `Grant of "${e.data.applicationId}" extended until ${e.data.extendedUntil}`;
    case 'GrantGpusChanged':
      return `GPUs of "${e.data.applicationId}" set to ${e.data.gpus.map((g) => `${g.count} ${g.type}`).join(' or ')} (${e.data.cause === 'override' ? `by ${e.data.by}` : 'evaluation round'})`;
    case 'GrantGpusWithheld':
      return `GPUs of "${e.data.applicationId}" ${e.data.kind === 'partial' ? `served in part (${e.data.served ?? 0} of ${e.data.asked ?? '?'})` : 'refused'}: ${e.data.reason}${e.data.rule ? ` (rule ${e.data.rule})` : ''}`;
    case 'GrantGpusServed':
      return `GPUs of "${e.data.applicationId}" served in full (${e.data.served})`;
    case 'ExtensionStarted':
      return `Extension started for ${list(e.data.finalists)} until ${e.data.endsAt}`;
    case 'ExtensionEnded':
      return 'Extension ended';
    case 'RefillSkipped':
      return `Refill call skipped: ${e.data.activeTeams} team(s) active (fills up to ${e.data.fillUpTo})`;
    case 'RefillCallOpened':
      return `Refill call opened for ${e.data.seats} seat(s), closing ${e.data.closesAt}`;
    case 'RefillCallClosed':
      return `Refill call closed with ${e.data.applications.length} application(s)`;
    case 'RefillRankingProposed':
      return `Refill entrants proposed: ${list(e.data.proposed)} for ${e.data.seats} seat(s)`;
    case 'RefillEntrantsSelected':
      return `Refill entrants selected: ${list(e.data.entrants)} (${approvalOf(e.data.approval)})`;
    case 'ProcurementOpened':
      return `Procurement opened for ${list(e.data.finalists)}; contracts due ${e.data.contractsDueAt}, releases due ${e.data.releaseDueAt}`;
    case 'ProcurementAwarded':
      return `Contract ${e.data.contractId} for "${e.data.applicationId}": ${e.data.agency} buys public use of ${e.data.model} for ${e.data.amount.value} ${e.data.amount.currency}`;
    case 'ProcurementDeadlinePassed':
      return `${e.data.deadline.replace(/_/g, ' ')} passed; missing ${list(e.data.missing)}`;
    case 'ModelReleased':
      return `"${e.data.applicationId}" released its basic model at ${e.data.repository} under ${e.data.licence}`;
    case 'CycleClosed':
      return `Cycle closed (${e.data.outcome.replace(/_/g, ' ')}); finalists ${list(e.data.finalists)}`;
    case 'CycleCancelled':
      return `Cycle cancelled by ${e.data.by} during ${e.data.stage}: ${e.data.reason}`;
    default:
      return (e as { type: string }).type;
  }
}

export function timelineEntry(event: StoredEvent): TimelineEntry {
  const actor = event.metadata.actor;
  let summary: string;
  try {
    summary = describe({ type: event.type, data: event.data } as unknown as CycleEvent);
  } catch {
    summary = event.type; // an older or foreign event shape: the type still reads
  }
  return {
    position: event.streamPosition,
    eventId: event.eventId,
    type: event.type,
    occurredAt: event.occurredAt,
    stage: typeof event.metadata.stage === 'string' ? event.metadata.stage : null,
    actor: actor ? `${actor.role}:${actor.subject}` : null,
    summary,
    data: event.data,
  };
}
