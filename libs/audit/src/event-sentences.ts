/**
 * One sentence per recorded event: the single wording that both timelines use (the cycle's
 * `GET /v1/cycles/:id/timeline` and the auditors' `timeline`, in the API and the CLI), so a
 * program manager and an auditor read the same words for the same fact. Sentences start in lower
 * case: the auditors' lines put them after the time, the stream and who acted.
 */
import type { CycleEvent } from '@concentra/domain';

type Data = Record<string, unknown>;

const list = (ids: readonly string[]) => (ids.length === 0 ? 'none' : ids.join(', '));
const words = (s: string) => s.replace(/_/g, ' ');
/** `technical 7, team 5 and impact 6`: scores as words, not a JSON object. */
const scoreWords = (scores: Record<string, number> | undefined) => {
  const parts = Object.entries(scores ?? {}).map(([k, v]) => `${words(k)} ${v}`);
  return parts.length === 0 ? 'nothing' : parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
};
/** Issue 15: whether a release includes the evaluated model, when the policy verifies releases. */
const releaseCheck = (v: { evaluatedSha256: string | null; matched: boolean } | undefined) =>
  !v ? '' : v.matched ? ', verified: it includes the evaluated model' : `, not verified: no artifact is the evaluated model${v.evaluatedSha256 ? ` (sha256 ${v.evaluatedSha256.slice(0, 12)})` : ''}`;
/** Issue 15: a consequence of a missing report names the rule and the report (both timelines, and the attribution). */
export function reportConsequenceSentence(d: { applicationId: string; reportId: string; kind: string; action: string; rule: string; after: string; dueAt: string }): string {
  const what = { warning: 'warned', throttle: 'GPUs throttled', suspend: 'GPUs suspended', terminate: 'grant terminated, its GPUs released' }[d.action] ?? words(d.action);
  return `"${d.applicationId}" ${what} by the policy's rule ${d.rule} (${d.action} ${d.after} after the due date) for its missing ${d.kind} report "${d.reportId}", due ${d.dueAt}`;
}

/** `ProgramArchived` → `program archived`. */
const typeWords = (type: string) => type.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();

/** How a decision was taken: approved by whom, by the policy's default, overridden with a rationale. */
function decisionNote(d: { approval: unknown; overridden?: boolean; rationale?: string | null }): string {
  const approval = d.approval;
  const how = approval === 'policy default' ? 'policy default, nobody approved in time' : `approved by ${(approval as { by: string }).by}`;
  return d.overridden ? ` (overridden, ${how}: ${d.rationale ?? ''})` : ` (${how})`;
}

/** A cycle event in words; undefined for a type the cycle does not record. Throws on a shape it cannot read. */
function cycleSentence(e: CycleEvent): string | undefined {
  switch (e.type) {
    case 'CallOpened':
      return `call opened for ${e.data.program} ${e.data.year} (policy ${e.data.policyHash.slice(0, 12)}), closing ${e.data.closesAt}`;
    case 'ApplicationSubmitted':
      return `application "${e.data.applicationId}" (${e.data.title}) submitted by ${e.data.submittedBy} for ${e.data.lead.organisationId}${e.data.members.length ? ` with ${list(e.data.members.map((m) => m.organisationId))}` : ''}`;
    case 'ApplicationWithdrawn':
      return `application "${e.data.applicationId}" withdrawn by ${e.data.by}${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'MembershipChanged':
      return `members of "${e.data.applicationId}" changed to ${list(e.data.members.map((m) => m.organisationId))} (approved by ${e.data.approvedBy}: ${e.data.rationale})`;
    case 'CallCutoffPassed':
      return `call cut-off passed with ${e.data.applications} application(s)`;
    case 'CallClosed':
      return `call closed (${words(e.data.reason)}) with ${e.data.applications.length} application(s): ${list(e.data.applications)}`;
    case 'ReviewRoundOpened':
      return `review round ${e.data.round} opened for ${e.data.applications.length} application(s), due ${e.data.dueAt}`;
    case 'ConflictOfInterestDeclared':
      return `${e.data.scorer} declared a conflict of interest with "${e.data.applicationId}"${e.data.reason ? `: ${e.data.reason}` : ''}`;
    case 'ReviewSubmitted': {
      const peer = e.data.peerOf ? ` as the peer review of applicant "${e.data.peerOf}"` : '';
      return `review ${e.data.reviewId} of "${e.data.applicationId}" submitted by ${e.data.reviewer}${peer}, scoring ${scoreWords(e.data.scores)}`;
    }
    case 'ReviewDeadlineExtended':
      return `${words(e.data.deadline)} extended from ${e.data.previousDueAt} to ${e.data.dueAt} (${e.data.missing.length} application(s) short of scores)`;
    case 'EscalationRaised':
      return `escalated to the program manager (${words(e.data.reason)}): ${e.data.details}`;
    case 'ReviewRoundClosed':
      return `review round ${e.data.round} closed: kept ${list(e.data.kept)}; dropped ${list(e.data.dropped)}`;
    case 'SelectionProposed':
      return `selection proposed${e.data.rerun ? ' again' : ''}: ${list(e.data.proposed)} (of ${list(e.data.candidates)}); approval due ${e.data.approvalDueAt}`;
    case 'AwardeesSelected':
      return `awardees selected: ${list(e.data.awardees)}; not selected: ${list(e.data.notSelected)}${decisionNote(e.data)}`;
    case 'NarrowingProposed':
      return `narrowing ${e.data.round} proposed${e.data.rerun ? ' again' : ''}: keep ${list(e.data.proposed)} (of ${list(e.data.candidates)}, planned ${e.data.plannedKeep}); approval due ${e.data.approvalDueAt}`;
    case 'TeamsNarrowed':
      return `narrowing ${e.data.round}: kept ${list(e.data.kept)}; dropped ${list(e.data.dropped)}${decisionNote(e.data)}`;
    case 'ObjectionFiled':
      return `"${e.data.applicationId}" objected to ${e.data.decisionKey}: ${e.data.grounds}`;
    case 'ObjectionWaived':
      return `"${e.data.applicationId}" waived its objection to ${e.data.decisionKey}`;
    case 'ObjectionWindowStarted':
      return `objection window of ${e.data.decisionKey} started for ${list(e.data.applicationIds)} (${e.data.notified ? 'notice delivered' : 'not reached in time'})${e.data.windowEndsAt ? `; open until ${e.data.windowEndsAt}` : ''}`;
    case 'ObjectionWindowClosed':
      return `objection window of ${e.data.decisionKey} closed${e.data.early ? ' early, every affected team having objected or waived' : ''}; objections pending: ${list(e.data.pending)}`;
    case 'ObjectionDecided':
      return `objection of "${e.data.applicationId}" ${e.data.upheld ? 'upheld' : 'dismissed'} by ${e.data.by}: ${e.data.reasoning}`;
    case 'GrantPeriodStarted':
      return `grant period started for ${list(e.data.awardees)} until ${e.data.endsAt}`;
    case 'GrantStarted':
      return `grant ${e.data.grantId} started for "${e.data.applicationId}"${e.data.allocationId ? ` (allocation ${e.data.allocationId})` : ''}`;
    case 'GrantEnded':
      return `grant ${e.data.grantId} ended (${e.data.reason})${e.data.gpuHoursUsed === null ? '' : `, ${e.data.gpuHoursUsed} GPU-hours used`}`;
    case 'GrantPeriodEnded':
      return 'grant period ended';
    case 'EvaluationRoundOpened':
      return `evaluation round ${e.data.round} opened for ${list(e.data.teams)}; models due ${e.data.submissionDueAt}, scores due ${e.data.scoringDueAt}`;
    case 'ModelSubmitted':
      return `"${e.data.applicationId}" submitted its model for round ${e.data.round} (${[
        e.data.artifact && `${e.data.artifact.uri}, sha256 ${e.data.artifact.sha256.slice(0, 12)}`,
        e.data.endpoint && `endpoint ${e.data.endpoint.baseUrl}, model ${e.data.endpoint.model}`,
      ].filter(Boolean).join('; ')})`;
    case 'BenchmarkResultRecorded':
      return `benchmark ${e.data.suite} (version ${e.data.suiteVersion.slice(0, 12)}) measured "${e.data.applicationId}" at ${e.data.correct} of ${e.data.items} (${e.data.accuracy}, 95 % interval ${e.data.interval.low}-${e.data.interval.high}; ${e.data.errors} unanswered): ${e.data.points} points on ${e.data.criterion}${e.data.provenance ? `; provenance ${e.data.provenance.verdict}` : ''}`;
    case 'EvaluationSubmissionsClosed':
      return `model submissions closed: ${list(e.data.submitted)} submitted; missing ${list(e.data.missing)}${e.data.missing.length ? ` (${words(e.data.outcome)})` : ''}`;
    case 'EvaluationScoresSubmitted':
      return `evaluation scores ${e.data.scoreSetId} for "${e.data.applicationId}" submitted by ${e.data.evaluator}, scoring ${scoreWords(e.data.scores)}`;
    case 'TeamEliminated':
      return `"${e.data.applicationId}" eliminated in round ${e.data.round} (${words(e.data.reason)})`;
    case 'GrantExtended':
      return `grant of "${e.data.applicationId}" extended until ${e.data.extendedUntil}`;
    case 'GrantGpusChanged':
      return `GPUs of "${e.data.applicationId}" set to ${e.data.gpus.map((g) => `${g.count} ${g.type}`).join(' or ')} (${e.data.cause === 'override' ? `by ${e.data.by}` : 'evaluation round'})`;
    case 'GrantGpusWithheld':
      return `GPUs of "${e.data.applicationId}" ${e.data.kind === 'partial' ? `served in part (${e.data.served ?? 0} of ${e.data.asked ?? '?'})` : 'refused'}: ${e.data.reason}${e.data.rule ? ` (rule ${e.data.rule})` : ''}`;
    case 'GrantGpusServed':
      return `GPUs of "${e.data.applicationId}" served in full (${e.data.served})`;
    case 'ExtensionStarted':
      return `extension started for ${list(e.data.finalists)} until ${e.data.endsAt}`;
    case 'ExtensionEnded':
      return 'extension ended';
    case 'RefillSkipped':
      return `refill call skipped: ${e.data.activeTeams} team(s) active (fills up to ${e.data.fillUpTo})`;
    case 'RefillCallOpened':
      return `refill call opened for ${e.data.seats} seat(s), closing ${e.data.closesAt}`;
    case 'RefillCallClosed':
      return `refill call closed with ${e.data.applications.length} application(s)`;
    case 'RefillRankingProposed':
      return `refill entrants proposed: ${list(e.data.proposed)} for ${e.data.seats} seat(s)`;
    case 'RefillEntrantsSelected':
      return `refill entrants selected: ${list(e.data.entrants)}${decisionNote({ approval: e.data.approval })}`;
    case 'ProcurementOpened':
      return `procurement opened for ${list(e.data.finalists)}; contracts due ${e.data.contractsDueAt}, releases due ${e.data.releaseDueAt}`;
    case 'ProcurementAwarded':
      return `contract ${e.data.contractId} for "${e.data.applicationId}": ${e.data.agency} buys public use of ${e.data.model} for ${e.data.amount.value} ${e.data.amount.currency}`;
    case 'ProcurementDeadlinePassed':
      return `${words(e.data.deadline)} passed; missing ${list(e.data.missing)}`;
    case 'ModelReleased':
      return `"${e.data.applicationId}" released its basic model at ${e.data.repository} under ${e.data.licence}${releaseCheck(e.data.verification)}`;
    case 'CycleClosed':
      return `cycle closed (${words(e.data.outcome)}); finalists ${list(e.data.finalists)}`;
    case 'CycleCancelled':
      return `cycle cancelled by ${e.data.by} during ${e.data.stage}: ${e.data.reason}${e.data.affected ? `; teams told: ${list(e.data.affected)}` : ''}`;
    // Issue 15: reviewer assignment, funding tiers and peer review.
    case 'ReviewersAssigned': {
      const loads = Object.values(e.data.loads);
      const busiest = loads.length ? Math.max(...loads) : 0;
      const short = e.data.short.length ? `; ${e.data.short.length} application(s) short of reviewers: ${list(e.data.short.map((x) => x.applicationId))}` : '';
      return `${e.data.perApplication} reviewer(s) assigned to each of ${e.data.assignments.length} application(s) in ${e.data.roundKey}, none conflicted, the busiest reviewing ${busiest} (limit ${e.data.maxPerReviewer})${short}`;
    }
    case 'ReviewAssignmentDeclined':
      return `${e.data.reviewer} declined to review "${e.data.applicationId}" (${e.data.reason}); ${e.data.replacement ? `${e.data.replacement.reviewer} assigned in their place (${words(e.data.replacement.reason)})` : 'no free reviewer could take it'}`;
    case 'FundingLotteryDrawn':
      return `funding tiers for ${e.data.seats} award(s): ${list(e.data.fundedOutright)} funded outright (total at or above ${e.data.fundAtOrAbove}); lottery with seed "${e.data.seed}" among ${list(e.data.band)} drew ${list(e.data.order)}, funding ${list(e.data.drawnFunded)}; not funded: ${list(e.data.notFunded)}`;
    // Issue 15: budgets and pools.
    case 'FundingPoolsAllocated': {
      const d = e.data;
      const unit = (b: { gpus: number } | { gpuHours: number }) => ('gpus' in b ? `${b.gpus} GPUs` : `${b.gpuHours} GPU-hours`);
      const pools = d.pools.map((p) => {
        const awards = d.awards.filter((a) => a.poolId === p.poolId).map((a) => `${a.applicationId} ${a.awarded}${a.awarded < a.requested ? ` of ${a.requested} asked` : ''}`);
        return `pool "${p.poolId}" used ${p.used} of ${unit(p.budget)}${p.exhausted ? ' and ran out' : ''}, awarding ${awards.length ? awards.join(', ') : 'nothing'}`;
      });
      const caps = d.capsApplied.map((c) => `${c.applicationId} cut from ${c.before} to ${c.after} by the ${c.cap} cap (${c.limit} for ${c.key})`);
      const notFunded = Object.entries(d.notFunded).map(([reason, ids]) => `${list(ids ?? [])} (${words(reason)})`);
      return `funding pools awarded GPUs to ${d.awards.length} of ${d.fundable.length} fundable application(s) (${words(d.award)}${d.hoursPerGpu ? `, ${d.hoursPerGpu} hours per GPU` : ''}): ${pools.join('; ')}${caps.length ? `; caps applied: ${caps.join(', ')}` : ''}; not funded: ${notFunded.length ? notFunded.join(', ') : 'none'}`;
    }
    case 'PoolExhausted': {
      const d = e.data;
      const budget = 'gpus' in d.budget ? `${d.budget.gpus} GPUs` : `${d.budget.gpuHours} GPU-hours`;
      const part = d.partiallyFunded ? `; "${d.partiallyFunded.applicationId}" got the ${d.partiallyFunded.awarded} GPUs left of the ${d.partiallyFunded.requested} it asked for` : '';
      return `funding pool "${d.poolId}" ran out (${d.used} of ${budget} used) and stopped awarding${part}; not funded because of it: ${list(d.notFunded)}`;
    }
    case 'PeerReviewersAssigned': {
      const counts = Object.values(e.data.received);
      const spread = counts.length ? `each application receiving ${Math.min(...counts)} to ${Math.max(...counts)} peer review(s)` : 'no application to review';
      const short = e.data.short.length ? `; ${e.data.short.length} applicant(s) short of unconflicted applications: ${list(e.data.short.map((x) => x.applicationId))}` : '';
      return `each of ${e.data.assignments.length} applicant(s) in ${e.data.roundKey} assigned ${e.data.perApplicant} other application(s) to review by ${e.data.dueAt}, never its own or a conflicting one, ${spread}; a peer review weighs ${e.data.weight} of a panel review (seed "${e.data.seed}")${short}`;
    }
    case 'PeerReviewsMissed':
      return peerReviewsMissedSentence(e.data);
    case 'PeerReviewAssignmentDeclined':
      return peerDeclineSentence(e.data);
    // Issue 15: milestones and reports of a grant.
    case 'GrantReportSubmitted':
      return `${e.data.kind} report "${e.data.reportId}" of "${e.data.applicationId}" submitted by ${e.data.by}${e.data.late ? `, late (due ${e.data.dueAt})` : ''}`;
    case 'GrantReportReviewed':
      return `${e.data.kind} report "${e.data.reportId}" of "${e.data.applicationId}" ${e.data.outcome === 'accepted' ? 'accepted' : 'sent back for changes'} by ${e.data.by}${e.data.comment ? `: ${e.data.comment}` : ''}`;
    case 'GrantReportMissed':
      return `${e.data.kind} report "${e.data.reportId}" of "${e.data.applicationId}" missed: it was due by ${e.data.dueAt}`;
    case 'GrantReportConsequenceApplied':
      return reportConsequenceSentence(e.data);
    case 'GrantSanctionLifted':
      return sanctionLiftedSentence(e.data);
    case 'GrantReportsOutstanding':
      return reportsOutstandingSentence(e.data);
    case 'GrantChangeRefused':
      return `the GPU ledger refused the ${e.data.change} of ${e.data.grantId} for good (${e.data.code}: ${e.data.message}); the grant went on with its allocation as it was`;
    default:
      return undefined;
  }
}

/** Issue 15: an applicant declined a peer review, and what the policy's rule reassigned for it. */
export function peerDeclineSentence(d: Extract<CycleEvent, { type: 'PeerReviewAssignmentDeclined' }>['data']): string {
  const r = d.replacement;
  const taken = !r
    ? 'no other applicant could take it'
    : r.reason === 'had_room'
      ? `by the policy's peer-review rule "${r.reviewer}" reviews it in its place (it had room)`
      : `by the policy's peer-review rule "${r.reviewer}" reviews it in its place, in exchange for "${r.gives}"`;
  const instead = d.instead ? `"${d.reviewer}" reviews "${d.instead}" instead` : `no other application was free for "${d.reviewer}" to review`;
  return `${d.by} declined for "${d.reviewer}" the peer review of "${d.applicationId}" (${d.reason}); ${taken}; ${instead}`;
}

/** Issue 15: a late report lifted a throttle or suspension, by the policy's rule, naming the report and who accepted (or submitted) it. */
export function sanctionLiftedSentence(d: Extract<CycleEvent, { type: 'GrantSanctionLifted' }>['data']): string {
  const how = d.on === 'on_acceptance' ? `accepted late by ${d.by}` : `submitted late by ${d.by}`;
  return `"${d.applicationId}" GPUs ${d.lifted === 'throttle' ? 'throttling' : 'suspension'} lifted by the policy's rule ${d.rule} (${d.on.replace('_', ' ')}): its ${d.kind} report "${d.reportId}" was ${how}; the allocation is back to normal`;
}

/** Issue 15: the reports a grant still owed when the cycle closed (or was cancelled), each with where it stood, and its final report's status. */
export function reportsOutstandingSentence(d: Extract<CycleEvent, { type: 'GrantReportsOutstanding' }>['data']): string {
  const words: Record<string, string> = { due: 'never submitted', missed: 'missed, never submitted', changes_requested: 'sent back for changes, never resubmitted', submitted: 'submitted, never reviewed' };
  const each = d.reports.map((r) => `${r.kind} report "${r.reportId}" (due ${r.dueAt}) ${words[r.status] ?? r.status}`).join('; ');
  const final = d.finalReport ? `; its final report "${d.finalReport.reportId}" ${d.finalReport.status === 'accepted' ? 'was accepted' : `stood ${d.finalReport.status.replace('_', ' ')}`}` : '';
  return `the cycle ${d.ending === 'cancelled' ? 'was cancelled' : 'closed'} with ${d.reports.length} report(s) of "${d.applicationId}" (${d.grantId}, team ${d.teamStatus}) outstanding: ${each}${final}`;
}

/** Issue 15: what the policy's rule did to an applicant that owed peer reviews at the deadline, naming the rule. */
export function peerReviewsMissedSentence(d: Extract<CycleEvent, { type: 'PeerReviewsMissed' }>['data']): string {
  const owed = `"${d.applicationId}" submitted ${d.assigned.length - d.missing.length} of its ${d.assigned.length} assigned peer review(s) by the deadline (missing ${list(d.missing)})`;
  switch (d.rule) {
    case 'reject_own_application':
      return `${owed}; its application was rejected by the policy's peer-review rule (onMissedReviews: reject_own_application)`;
    case 'penalty':
      return `${owed}; ${d.penalty ?? 0} point(s) were taken off its total by the policy's peer-review rule (onMissedReviews: penalty ${d.penalty ?? 0})`;
    case 'none':
      return `${owed}; the policy's peer-review rule has no consequence for it (onMissedReviews: none)`;
    default: {
      const never: never = d.rule;
      return `${owed}; rule ${String(never)}`;
    }
  }
}

/** Events outside the cycles: programs and the audit access log. */
const OTHER_SENTENCES: Record<string, (d: Data) => string> = {
  ProgramCreated: (d) => `program ${String(d.slug)} created ("${String(d.name)}")`,
  AuditAccessed: (d) => `audit ${String(d.action)} of ${String(d.target)}`,
};

/** A shape no sentence reads (an older or foreign event): its type in words, with up to four plain fields in words. */
function plainFields(type: string, d: Data): string {
  const fields = Object.entries(d)
    .filter(([k, v]) => k !== 'stage' && k !== 'policy' && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .slice(0, 4)
    .map(([k, v]) => `${typeWords(k)} ${String(v)}`);
  return fields.length ? `${typeWords(type)}, with ${fields.join(', ')}` : typeWords(type);
}

/** One readable sentence for any recorded event. */
export function describeEvent(type: string, data: Data): string {
  try {
    return cycleSentence({ type, data } as unknown as CycleEvent) ?? OTHER_SENTENCES[type]?.(data) ?? plainFields(type, data);
  } catch {
    return plainFields(type, data);
  }
}
