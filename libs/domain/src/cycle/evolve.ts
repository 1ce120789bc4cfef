/**
 * evolve(state, event) -> state. Pure and total: it never refuses an event (decide already did the
 * checking), it only records what the event says — including every deadline it sets or clears.
 */
import { canonicalJson } from '../shared/canonical';
import type { CycleEvent } from './events';
import { rankFacts } from '../scoring/record';
import { collaboratingReviewers, withAssignments } from './assignment-state';
import { withTotals } from './funding-tiers';
import { withPoolAwards } from './funding-pools';
import { verifiesReleases } from './release-verification';
import { peerScorer, sharingOrganisations, withPeerReview } from './peer-review-state';
import { evolveGrantEvent, isGrantEvent, withGrantReports } from './grant-reports-state';
import type { GrantEvent } from './grant-events';
/** Reviewers who may not be assigned for a recent collaboration (issue 15), as the record's optional field. */
const collaborating = (s: RunningCycle, consortium: string[]) => {
  const ids = collaboratingReviewers(s, consortium);
  return ids.length > 0 ? { collaborating: ids } : {};
};
import type { ApplicationRecord, CycleState, DecisionRecord, GrantRecord, RoundRecord, RunningCycle } from './state';
import { addSheet, clearDeadlines, closeRound, conflictedPanel, enteredStage, newGrant, newRound, reviewScheme } from './state-updates';
import { setStatus, updateRound, withDeadline, withDecision, withGrant } from './state-updates';

export function evolve(state: CycleState, event: CycleEvent): CycleState {
  if (event.type === 'CallOpened') {
    const d = event.data;
    return {
      stage: 'call',
      cycleId: d.cycleId,
      programSlug: d.program,
      year: d.year,
      policy: d.policy,
      policyHash: d.policyHash,
      rulesVersion: d.rulesVersion ?? 1,
      lotterySeed: d.lotterySeed,
      panel: d.panel,
      openedAt: d.openedAt,
      stageIndex: 0,
      pendingShift: null,
      deadlines: d.nextCutoffAt ? { call_close: d.closesAt, call_cutoff: d.nextCutoffAt } : { call_close: d.closesAt },
      callClosedAt: null,
      applications: {},
      rounds: {},
      currentRound: null,
      conflicts: [],
      decision: null,
      refill: null,
      grants: {},
      procurement: null,
      escalations: [],
      closedAt: null,
      version: 1,
    };
  }
  if (state.stage === 'not_started') return state;
  const s: RunningCycle = { ...state, version: state.version + 1 };
  return withGrantReports(isGrantEvent(event) ? evolveGrantEvent(s, event) : apply(s, event), event);
}

/** Replays a history from the beginning. */
export function evolveAll(events: readonly CycleEvent[], from: CycleState = { stage: 'not_started' }): CycleState {
  return events.reduce(evolve, from);
}

/**
 * The stage after each event, for writers that stamp `data.stage` on stored events so projections
 * never re-implement a stage rule.
 */
export function stagesAfter(state: CycleState, events: readonly CycleEvent[]): CycleState['stage'][] {
  const out: CycleState['stage'][] = [];
  let s = state;
  for (const e of events) {
    s = evolve(s, e);
    out.push(s.stage);
  }
  return out;
}

function apply(s: RunningCycle, event: Exclude<CycleEvent, GrantEvent>): RunningCycle {
  switch (event.type) {
    case 'CallOpened':
      return s;
    case 'ApplicationSubmitted': {
      const d = event.data;
      const conflicted = conflictedPanel(s, [d.lead.organisationId, ...d.members.map((m) => m.organisationId)]);
      const app: ApplicationRecord = {
        lead: d.lead.organisationId,
        leadType: d.lead.type,
        status: 'submitted',
        submittedAt: d.submittedAt,
        ...(d.refillKey ? { refillKey: d.refillKey } : {}),
        ...(conflicted.length > 0 ? { conflicted } : {}),
        ...(d.gpusRequested ? { gpusRequested: d.gpusRequested } : {}),
        ...(d.topics?.length ? { topics: d.topics } : {}),
        ...(d.region ? { region: d.region } : {}),
        ...collaborating(s, [d.lead.organisationId, ...d.members.map((m) => m.organisationId)]),
      };
      return sharingOrganisations({ ...s, applications: { ...s.applications, [d.applicationId]: app } }, d.applicationId, d.sharesOrganisationWith);
    }
    case 'ApplicationWithdrawn':
      return setStatus(s, [event.data.applicationId], 'withdrawn');
    case 'MembershipChanged': {
      const id = event.data.applicationId;
      const app = s.applications[id];
      if (!app) return s;
      const { conflicted: _previous, collaborating: _before, ...rest } = app;
      const consortium = [app.lead, ...event.data.members.map((m) => m.organisationId)];
      const conflicted = conflictedPanel(s, consortium);
      const next = { ...s, applications: { ...s.applications, [id]: { ...rest, ...(conflicted.length > 0 ? { conflicted } : {}), ...collaborating(s, consortium) } } };
      return sharingOrganisations(next, id, event.data.sharesOrganisationWith, true);
    }
    case 'CallCutoffPassed':
      return withDeadline(s, 'call_cutoff', event.data.nextCutoffAt);
    case 'CallClosed':
      return { ...clearDeadlines(s, 'call_close', 'call_cutoff'), callClosedAt: event.data.closedAt };
    case 'ReviewRoundOpened': {
      const d = event.data;
      const round = newRound(d.roundKey, 'review', d.round, d.stageIndex, reviewScheme(s, d.stageIndex), d.applications, d.dueAt);
      return enteredStage({ ...withDeadline(s, 'review_due', d.dueAt), rounds: { ...s.rounds, [d.roundKey]: round }, currentRound: d.roundKey }, 'review', d.stageIndex);
    }
    case 'ConflictOfInterestDeclared':
      return { ...s, conflicts: [...s.conflicts, { scorer: event.data.scorer, applicationId: event.data.applicationId }] };
    case 'ReviewSubmitted': {
      const d = event.data; // a peer review's sheet is its reviewing application's (issue 15)
      return addSheet(s, d.roundKey, d.applicationId, d.peerOf ? peerScorer(d.peerOf) : d.reviewer, d.scores, d.verdicts);
    }
    case 'EvaluationScoresSubmitted':
      return addSheet(s, event.data.roundKey, event.data.applicationId, event.data.evaluator, event.data.scores, event.data.verdicts);
    case 'ReviewDeadlineExtended': {
      const d = event.data;
      return updateRound(withDeadline(s, d.deadline, d.dueAt), d.roundKey, (r) => ({ ...r, dueAt: d.dueAt, extended: true }));
    }
    case 'EscalationRaised': {
      const held = event.data.heldDeadline;
      const { reason, subject, raisedAt, heldDeadline } = event.data;
      const next = { ...s, escalations: [...s.escalations, { reason, subject, raisedAt, heldDeadline }] };
      return held ? clearDeadlines(next, held) : next;
    }
    case 'ReviewRoundClosed': {
      const d = event.data;
      const closed = updateRound(clearDeadlines(s, 'review_due'), d.roundKey, (r) => withTotals(s.policy, closeRound(r, rankFacts(d.result)), d.result));
      return setStatus(closed, d.dropped, 'dropped_in_review');
    }
    case 'SelectionProposed': {
      const d = event.data;
      const decision: DecisionRecord = {
        key: d.decisionKey,
        kind: 'selection',
        stageIndex: d.stageIndex,
        round: 0,
        roundKey: d.roundKey,
        candidates: d.candidates,
        proposed: d.proposed,
        plannedKeep: d.maxAwardees,
        minKeep: d.minAwardees,
        approvalDueAt: d.approvalDueAt,
        outcome: null,
        objectionWindowEndsAt: null,
        windowClosed: false,
        objections: {},
      };
      const cleared = clearDeadlines(s, 'objection_notice_due', 'objection_window_end', 'objection_decision_due');
      return enteredStage({ ...withDeadline(cleared, 'selection_approval_due', d.approvalDueAt), decision }, 'selection', d.stageIndex);
    }
    case 'NarrowingProposed': {
      const d = event.data;
      const decision: DecisionRecord = {
        key: d.decisionKey,
        kind: 'narrowing',
        stageIndex: d.stageIndex,
        round: d.round,
        roundKey: d.roundKey,
        candidates: d.candidates,
        proposed: d.proposed,
        plannedKeep: d.plannedKeep,
        minKeep: 0,
        approvalDueAt: d.approvalDueAt,
        outcome: null,
        objectionWindowEndsAt: null,
        windowClosed: false,
        objections: {},
      };
      const cleared = clearDeadlines(s, 'evaluation_scoring_due', 'objection_notice_due', 'objection_window_end', 'objection_decision_due');
      const closed = updateRound(cleared, d.roundKey, (r) => ({ ...closeRound(r, rankFacts(d.result)), record: d.result }));
      return { ...withDeadline(closed, 'narrowing_approval_due', d.approvalDueAt), decision, stage: 'narrowing' };
    }
    case 'AwardeesSelected':
    case 'TeamsNarrowed': {
      const d = event.data;
      const kept = event.type === 'AwardeesSelected' ? event.data.awardees : event.data.kept;
      const dropped = event.type === 'AwardeesSelected' ? event.data.notSelected : event.data.dropped;
      // A window that starts on notice: open, with no end yet, until the affected teams are told (or the bound passes).
      const notifiedBy = d.objectionWindow?.startsOn === 'notified' ? d.objectionWindow.notifiedBy : null;
      const { windowStarts: _previous, ...earlier } = s.decision!;
      const decision: DecisionRecord = {
        ...earlier,
        outcome: { kept, dropped, overridden: d.overridden, decidedAt: d.decidedAt },
        objectionWindowEndsAt: d.objectionWindowEndsAt,
        windowClosed: d.objectionWindowEndsAt === null && notifiedBy === null,
        objections: {},
        ...(notifiedBy ? { windowStarts: {} } : {}),
      };
      const cleared = clearDeadlines(s, 'selection_approval_due', 'narrowing_approval_due');
      const next = { ...withDeadline(withDeadline(cleared, 'objection_window_end', d.objectionWindowEndsAt), 'objection_notice_due', notifiedBy), decision };
      return d.objectionWindowEndsAt || notifiedBy ? { ...next, stage: 'objection' } : next;
    }
    case 'ObjectionWindowStarted': {
      const d = event.data;
      const next = d.windowEndsAt ? withDeadline(clearDeadlines(s, 'objection_notice_due'), 'objection_window_end', d.windowEndsAt) : s;
      return withDecision(next, (dec) => ({
        ...dec,
        windowStarts: { ...dec.windowStarts, ...Object.fromEntries(d.applicationIds.map((id) => [id, d.startedAt])) },
        objectionWindowEndsAt: d.windowEndsAt ?? dec.objectionWindowEndsAt,
      }));
    }
    case 'ObjectionFiled':
    case 'ObjectionWaived': {
      const d = event.data;
      const status = event.type === 'ObjectionFiled' ? 'filed' : 'waived';
      const at = event.type === 'ObjectionFiled' ? event.data.filedAt : event.data.at;
      return withDecision(s, (dec) => ({ ...dec, objections: { ...dec.objections, [d.applicationId]: { status, at } } }));
    }
    case 'ObjectionWindowClosed': {
      const d = event.data;
      const next = withDeadline(clearDeadlines(s, 'objection_notice_due', 'objection_window_end'), 'objection_decision_due', d.decisionDueAt);
      return withDecision(next, (dec) => ({ ...dec, windowClosed: true }));
    }
    case 'ObjectionDecided': {
      const d = event.data;
      return withDecision(s, (dec) => {
        const objections = { ...dec.objections, [d.applicationId]: { ...dec.objections[d.applicationId], status: d.upheld ? ('upheld' as const) : ('dismissed' as const) } };
        if (d.upheld) {
          // An upheld objection reopens the decision, so the others no longer have a decision to object to.
          for (const [id, o] of Object.entries(objections)) if (o.status === 'filed') objections[id] = { ...o, status: 'moot' };
        }
        return { ...dec, objections };
      });
    }
    case 'GrantPeriodStarted': {
      const d = event.data;
      const grants: Record<string, GrantRecord> = { ...s.grants };
      for (const id of d.awardees) grants[id] = newGrant(s, id, d.gpusByTeam?.[id] ?? d.gpusPerAwardee, d.endsAt);
      const statuses = setStatus(setStatus(s, d.awardees, 'active'), d.notSelected, 'not_selected');
      return enteredStage({ ...withDeadline(statuses, 'grant_period_end', d.endsAt), grants, decision: null }, 'grant', d.stageIndex);
    }
    case 'GrantStarted': {
      const d = event.data;
      return withGrant(s, d.applicationId, ({ withheld, ...g }) => ({ ...g, ...(withheld?.kind === 'partial' ? { withheld } : {}), status: 'active', startedAt: d.startedAt }));
    }
    case 'GrantEnded': {
      const d = event.data;
      return withGrant(s, d.applicationId, ({ withheld: _served, ...g }) => ({ ...g, status: 'ended', endedAt: d.endedAt, endReason: d.reason }));
    }
    case 'GrantGpusChanged': {
      const d = event.data;
      const app = s.applications[d.applicationId];
      const withOverride = d.cause === 'override' && app ? { ...s, applications: { ...s.applications, [d.applicationId]: { ...app, gpusOverride: d.gpus } } } : s;
      // A new amount is a new request: whatever was withheld of the old one is no longer owed.
      return withGrant(withOverride, d.applicationId, ({ withheld: _old, ...g }) => ({ ...g, gpus: d.gpus }));
    }
    case 'GrantGpusServed':
      return withGrant(s, event.data.applicationId, ({ withheld: _served, ...g }) => g);
    case 'GrantGpusWithheld': {
      const d = event.data;
      return withGrant(s, d.applicationId, (g) => ({ ...g, withheld: { kind: d.kind, retrying: d.retrying, until: d.retryUntil } }));
    }
    case 'GrantPeriodEnded':
      return clearDeadlines(s, 'grant_period_end');
    case 'EvaluationRoundOpened': {
      const d = event.data;
      const scheme = (s.policy.stages[d.stageIndex] as { scoring: string }).scoring;
      const round: RoundRecord = { ...newRound(d.roundKey, 'evaluation', d.round, d.stageIndex, scheme, d.teams, d.scoringDueAt), submissionDueAt: d.submissionDueAt };
      const next = withDeadline(withDeadline(s, 'evaluation_submission_due', d.submissionDueAt), 'evaluation_scoring_due', d.scoringDueAt);
      return enteredStage({ ...next, rounds: { ...s.rounds, [d.roundKey]: round }, currentRound: d.roundKey, decision: null }, 'evaluation', d.stageIndex);
    }
    case 'ModelSubmitted': {
      const d = event.data;
      const model = d.endpoint ? { endpoint: d.endpoint, ...(d.artifacts ? { artifacts: d.artifacts } : {}) } : null;
      const submitted = updateRound(s, d.roundKey, (r) => ({
        ...r,
        submissions: { ...r.submissions, [d.applicationId]: d.submittedAt },
        ...(model ? { models: { ...(r.models ?? {}), [d.applicationId]: model } } : {}),
      }));
      // Issue 15: the evaluated model, that a release is verified against, when the policy verifies:
      // the artifact submitted, or for a model submitted as an endpoint its weights (else its first artifact).
      const app = submitted.applications[d.applicationId];
      const evaluated = d.artifact?.sha256 ?? (d.artifacts?.find((a) => a.name === 'weights') ?? d.artifacts?.[0])?.sha256;
      return verifiesReleases(s) && app && evaluated ? { ...submitted, applications: { ...submitted.applications, [d.applicationId]: { ...app, evaluatedModel: evaluated } } } : submitted;
    }
    case 'BenchmarkResultRecorded': {
      const d = event.data;
      const measured = { points: d.points, provenance: d.provenance?.verdict ?? null };
      return updateRound(s, d.roundKey, (r) => ({ ...r, measured: { ...(r.measured ?? {}), [d.applicationId]: measured } }));
    }
    case 'EvaluationSubmissionsClosed': {
      const d = event.data;
      const next = clearDeadlines(s, 'evaluation_submission_due');
      return updateRound(next, d.roundKey, (r) => ({ ...r, submissionsClosed: true, zeroed: d.outcome === 'score_zero' ? d.missing : [] }));
    }
    case 'TeamEliminated':
      return setStatus(s, [event.data.applicationId], 'eliminated');
    case 'GrantExtended': {
      const d = event.data;
      return withGrant(s, d.applicationId, (g) => ({ ...g, endsAt: d.extendedUntil, gpus: d.gpus }));
    }
    case 'ExtensionStarted':
      return enteredStage({ ...withDeadline(s, 'extension_end', event.data.endsAt), decision: null }, 'extension', event.data.stageIndex);
    case 'ExtensionEnded':
      return clearDeadlines(s, 'extension_end');
    case 'ProcurementDeadlinePassed':
      return clearDeadlines(s, event.data.deadline);
    case 'RefillSkipped':
      return { ...s, stageIndex: event.data.stageIndex };
    case 'RefillCallOpened': {
      const d = event.data;
      const refill = { refillKey: d.refillKey, stageIndex: d.stageIndex, seats: d.seats, openTo: d.openTo, phase: 'open' as const, closesAt: d.closesAt, proposal: null };
      return enteredStage({ ...withDeadline(s, 'refill_close', d.closesAt), refill, decision: null }, 'refill', d.stageIndex);
    }
    case 'RefillCallClosed': {
      const d = event.data;
      const refill = s.refill!;
      const next = clearDeadlines(s, 'refill_close');
      if (d.reviewDueAt === null) return { ...next, refill: { ...refill, phase: 'selection' } };
      const scheme = (s.policy.stages[refill.stageIndex] as { scoring: string }).scoring;
      const round = newRound(d.refillKey, 'refill', 1, refill.stageIndex, scheme, d.applications, d.reviewDueAt);
      return { ...withDeadline(next, 'refill_review_due', d.reviewDueAt), refill: { ...refill, phase: 'review' }, rounds: { ...s.rounds, [d.refillKey]: round }, currentRound: d.refillKey };
    }
    case 'RefillRankingProposed': {
      const d = event.data;
      const next = updateRound(clearDeadlines(s, 'refill_review_due'), d.refillKey, (r) => closeRound(r, rankFacts(d.result)));
      const proposal = { candidates: d.candidates, proposed: d.proposed, approvalDueAt: d.approvalDueAt };
      return { ...withDeadline(next, 'refill_approval_due', d.approvalDueAt), refill: { ...s.refill!, phase: 'selection', proposal } };
    }
    case 'RefillEntrantsSelected': {
      const d = event.data;
      const grants: Record<string, GrantRecord> = { ...s.grants };
      for (const id of d.entrants) grants[id] = newGrant(s, id, d.gpusByTeam?.[id] ?? d.gpusPerEntrant, null);
      const statuses = setStatus(setStatus(s, d.entrants, 'active'), d.notSelected, 'not_selected');
      return {
        ...clearDeadlines(statuses, 'refill_close', 'refill_review_due', 'refill_approval_due'),
        grants,
        refill: { ...s.refill!, phase: 'done' },
        pendingShift: d.shiftLaterStagesBy,
      };
    }
    case 'ProcurementOpened': {
      const d = event.data;
      const procurement = { finalists: d.finalists, contracts: {}, released: [], contractsDueAt: d.contractsDueAt, releaseDueAt: d.releaseDueAt };
      const next = withDeadline(withDeadline(s, 'procurement_contracts_due', d.contractsDueAt), 'release_due', d.releaseDueAt);
      return enteredStage({ ...next, procurement, decision: null }, 'procurement', d.stageIndex);
    }
    case 'ProcurementAwarded': {
      const d = event.data;
      const p = s.procurement!;
      return { ...s, procurement: { ...p, contracts: { ...p.contracts, [d.contractId]: d.applicationId } } };
    }
    case 'ModelReleased': {
      const d = event.data;
      const p = s.procurement!;
      // Issue 15: a release that does not include the evaluated model stays outstanding.
      if (d.verification && !d.verification.matched) return { ...s, procurement: { ...p, mismatched: [...(p.mismatched ?? []).filter((id) => id !== d.applicationId), d.applicationId] } };
      if (d.verification) {
        const mismatched = (p.mismatched ?? []).filter((id) => id !== d.applicationId);
        const { mismatched: _old, ...rest } = p;
        const cleared = mismatched.length > 0 ? { ...rest, mismatched } : rest;
        return cleared.released.includes(d.applicationId) ? { ...s, procurement: cleared } : { ...s, procurement: { ...cleared, released: [...cleared.released, d.applicationId] } };
      }
      return p.released.includes(d.applicationId) ? s : { ...s, procurement: { ...p, released: [...p.released, d.applicationId] } };
    }
    case 'CycleClosed':
      return { ...s, stage: 'closed', deadlines: {}, closedAt: event.data.closedAt };
    case 'CycleCancelled':
      return { ...s, stage: 'cancelled', deadlines: {}, closedAt: event.data.at };
    case 'ReviewersAssigned': // Issue 15: reviewer assignment and funding tiers.
    case 'ReviewAssignmentDeclined':
      return updateRound(s, event.data.roundKey, (r) => withAssignments(s, r, event));
    case 'FundingLotteryDrawn':
    case 'PoolExhausted':
      return s;
    case 'FundingPoolsAllocated':
      return withPoolAwards(s, event.data);
    case 'PeerReviewersAssigned':
    case 'PeerReviewsMissed':
    case 'PeerReviewAssignmentDeclined':
      return withPeerReview(s, event);
    default: {
      const never: never = event;
      throw new Error(`unknown event ${canonicalJson(never)}`);
    }
  }
}
