/**
 * A timer fired. The workflow only sends the deadline nextDeadline() gave it, with `at` = the
 * instant the timer was armed for; a stale one (the deadline moved or was met early) is refused,
 * so a late timer can never act twice. The clock is not consulted: a timer armed for a deadline
 * fires when that deadline has passed, and the events are stamped with `now` (the workflow passes
 * the deadline's own instant, so a replay computes the same dates).
 */
import type { CallStage, EvaluationStage, RefillStage, SelectionStage } from '../policy/schema';
import { fail } from '../shared/errors';
import { addDuration, isBefore, normalizeInstant, resolveDue } from '../shared/time';
import type { DeadlinePassed } from './commands';
import { DEADLINE_KINDS, type DeadlineKind } from './deadlines';
import type { CycleEvent } from './events';
import { chain, requireRole, requireRunning } from './guards';
import { closeObjectionWindow, selectRefillEntrants, startObjectionWindow, takeDecision, teamsAwaitingNotice } from './decision-flow';
import { liveApplications } from './decide-call';
import { closeScoringRound, enterStage } from './pipeline';
import { closeCycle } from './stage-basis';
import { reportDeadlinePassed } from './grant-reports';
import { applicationIds, type CycleState, type RunningCycle } from './state';

export function deadlinePassed(state: CycleState, cmd: DeadlinePassed, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const s = requireRunning(state);
  const kind = cmd.data?.deadline;
  if (!DEADLINE_KINDS.includes(kind)) fail('validation_failed', `unknown deadline "${String(kind)}"`, 'deadline');
  const due = s.deadlines[kind];
  if (!due) fail('conflict', `no "${kind}" deadline is pending`, 'deadline');
  if (typeof cmd.data.at !== 'string' || normalizeInstant(cmd.data.at) !== due) fail('conflict', `the "${kind}" deadline is now ${due}`, 'at');
  return onDeadline(s, kind, now);
}

function escalateApproval(s: RunningCycle, kind: DeadlineKind, subject: string, now: string): CycleEvent[] {
  return [{ type: 'EscalationRaised', data: { reason: 'approval_overdue', subject, details: `no approval by ${s.deadlines[kind]}; held for the program manager`, raisedAt: now, heldDeadline: kind } }];
}

function onDeadline(s: RunningCycle, kind: DeadlineKind, now: string): CycleEvent[] {
  switch (kind) {
    case 'call_cutoff': {
      const call = s.policy.stages[0] as CallStage;
      const applications = liveApplications(s);
      if (applications.length >= (call.closing.minApplicationsAtCutoff ?? Infinity)) {
        return chain(s, [{ type: 'CallClosed', data: { reason: 'cutoff', applications, closedAt: now } }], (next) => enterStage(next, 1, now));
      }
      const next = addDuration(s.deadlines.call_cutoff!, call.closing.cutoffEvery!);
      return [{ type: 'CallCutoffPassed', data: { at: now, applications: applications.length, nextCutoffAt: isBefore(next, s.deadlines.call_close!) ? next : null } }];
    }
    case 'call_close':
      return chain(s, [{ type: 'CallClosed', data: { reason: 'deadline', applications: liveApplications(s), closedAt: now } }], (next) => enterStage(next, 1, now));
    case 'review_due':
    case 'evaluation_scoring_due':
    case 'refill_review_due':
      return closeScoringRound(s, now, kind);
    case 'selection_approval_due': {
      const stage = s.policy.stages[s.decision!.stageIndex] as SelectionStage;
      if (stage.onApprovalTimeout === 'hold_and_escalate') return escalateApproval(s, kind, 'selection', now);
      return takeDecision(s, s.decision!.proposed, 'policy default', false, null, now);
    }
    case 'narrowing_approval_due': {
      const stage = s.policy.stages[s.decision!.stageIndex] as EvaluationStage;
      if (stage.narrowing.onApprovalTimeout === 'hold_and_escalate') return escalateApproval(s, kind, s.decision!.key, now);
      return takeDecision(s, s.decision!.proposed, 'policy default', false, null, now);
    }
    case 'grant_period_end':
      return chain(s, [{ type: 'GrantPeriodEnded', data: { at: now } }], (next) => enterStage(next, s.stageIndex + 1, now));
    case 'evaluation_submission_due': {
      const round = s.rounds[s.currentRound!];
      const teams = round.candidates.filter((id) => s.applications[id]?.status === 'active');
      const submitted = teams.filter((id) => round.submissions[id]);
      const missing = teams.filter((id) => !round.submissions[id]);
      const outcome = s.policy.missingInputs.evaluationSubmission;
      const events: CycleEvent[] = [{ type: 'EvaluationSubmissionsClosed', data: { roundKey: round.roundKey, submitted, missing, outcome, closedAt: now } }];
      if (outcome === 'eliminate') {
        for (const id of missing) events.push({ type: 'TeamEliminated', data: { applicationId: id, round: round.round, reason: 'no_submission', decisionKey: null, at: now } });
      }
      return events;
    }
    case 'objection_notice_due': {
      // Some affected teams were not reached in time: their window starts anyway (nothing waits on
      // an unreachable mailbox), and the program managers are told whom the notice did not reach.
      const unreached = teamsAwaitingNotice(s);
      if (unreached.length === 0) return [];
      return chain(s, startObjectionWindow(s, unreached, false, now), () => [
        {
          type: 'EscalationRaised',
          data: { reason: 'teams_not_notified', subject: unreached.join(','), details: `the decision's notice reached no one of ${unreached.length} team(s); their objection window started without it`, raisedAt: now, heldDeadline: null },
        },
      ]);
    }
    case 'objection_window_end':
      return closeObjectionWindow(s, now, false);
    case 'objection_decision_due':
      return [
        {
          type: 'EscalationRaised',
          data: { reason: 'objection_decision_overdue', subject: s.decision!.key, details: 'objections await a decision; the decision is held', raisedAt: now, heldDeadline: kind },
        },
      ];
    case 'extension_end':
      return chain(s, [{ type: 'ExtensionEnded', data: { at: now } }], (next) => enterStage(next, s.stageIndex + 1, now));
    case 'refill_close': {
      const refill = s.refill!;
      const stage = s.policy.stages[refill.stageIndex] as RefillStage;
      const applications = applicationIds(s, (a) => a.refillKey === refill.refillKey && a.status === 'submitted');
      const reviewDueAt = applications.length > 0 ? resolveDue(stage.reviewFor, now) : null;
      const closed: CycleEvent = { type: 'RefillCallClosed', data: { refillKey: refill.refillKey, applications, closedAt: now, reviewDueAt } };
      // Nobody applied: "select none" is a legal outcome and the program goes on.
      return reviewDueAt ? [closed] : chain(s, [closed], (next) => selectRefillEntrants(next, [], 'policy default', 'no applications to the refill call', now));
    }
    case 'refill_approval_due': {
      const refill = s.refill!;
      const stage = s.policy.stages[refill.stageIndex] as RefillStage;
      switch (stage.onApprovalTimeout) {
        case 'hold_and_escalate':
          return escalateApproval(s, kind, refill.refillKey, now);
        case 'select_none':
          return selectRefillEntrants(s, [], 'policy default', null, now);
        case 'apply_ranking':
          return selectRefillEntrants(s, refill.proposal?.proposed ?? [], 'policy default', null, now);
        default: {
          const never: never = stage.onApprovalTimeout;
          throw new Error(`unknown timeout rule ${String(never)}`);
        }
      }
    }
    case 'procurement_contracts_due':
    case 'release_due': {
      const p = s.procurement!;
      const finalists = p.finalists.filter((id) => s.applications[id]?.status === 'active');
      const missing =
        kind === 'procurement_contracts_due'
          ? finalists.filter((id) => !Object.values(p.contracts).includes(id))
          : finalists.filter((id) => !p.released.includes(id));
      const events: CycleEvent[] = [{ type: 'ProcurementDeadlinePassed', data: { deadline: kind, missing, at: now } }];
      if (missing.length > 0) {
        events.push({
          type: 'EscalationRaised',
          data: {
            reason: kind === 'release_due' ? 'release_overdue' : 'procurement_overdue',
            subject: missing.join(','),
            details: `${missing.length} finalist(s) without ${kind === 'release_due' ? 'an open-source release' : 'a contract'}`,
            raisedAt: now,
            heldDeadline: null,
          },
        });
      }
      // Once both procurement deadlines have passed the cycle closes, recording what is outstanding.
      return chain(s, events, (next) => (next.deadlines.procurement_contracts_due || next.deadlines.release_due ? [] : closeCycle(next, now)));
    }
    case 'report_due':
      return reportDeadlinePassed(s, now);
    default: {
      const never: never = kind;
      throw new Error(`unknown deadline ${String(never)}`);
    }
  }
}
