/**
 * admit(command, state, now): the clock's part of accepting a command, kept apart from `decide`.
 *
 * `decide` never compares `now` with an instant: lateness is the state's (a call, round or window
 * that the DeadlinePassed path has closed), so a replay decides exactly as the live run did. A
 * person's command that arrives after a deadline instant but before the workflow has applied that
 * deadline would still be accepted by `decide`; `admit` refuses it, with the same
 * `deadline_passed` error decide used to throw. The workflow calls `admit` only in an Update's
 * validator (which runs once, live, and never on replay), then `decide` in its handler.
 *
 * `admit` only looks at the clock. When a command would be refused for another reason first
 * (wrong role, wrong stage, nothing open), it lets it through and `decide` gives that reason.
 */
import { fail } from '../shared/errors';
import { isAtOrAfter, isIsoInstant, normalizeInstant } from '../shared/time';
import type { CycleCommand, Role } from './commands';
import { hasPeerReview } from './peer-review-state';
import type { CycleState, DecisionRecord, RoundRecord, RunningCycle } from './state';
import { reportDueFor } from './grant-reports';

interface Due {
  at: string | null | undefined;
  what: string;
}

export function admit(command: CycleCommand, state: CycleState, now: string): void {
  if (typeof now !== 'string' || !isIsoInstant(now)) fail('validation_failed', 'now must be an ISO date-time', 'now');
  if (!command || typeof command !== 'object' || !command.actor || command.data === null || typeof command.data !== 'object') return;
  if (state.stage === 'not_started' || state.stage === 'closed' || state.stage === 'cancelled') return;
  const due = dueFor(command, state);
  if (due?.at && isAtOrAfter(normalizeInstant(now), due.at)) fail('deadline_passed', `${due.what} was due by ${due.at}`, 'deadline');
}

const by = (command: CycleCommand, ...roles: Role[]) => roles.includes(command.actor.role) && typeof command.actor.subject === 'string' && command.actor.subject.length > 0;

/** The instant the command must come before, when everything but the clock would let it in. */
function dueFor(command: CycleCommand, s: RunningCycle): Due | null {
  switch (command.type) {
    case 'SubmitApplication': {
      if (!by(command, 'applicant')) return null;
      if (s.stage === 'refill' && s.refill?.phase === 'open') return { at: s.refill.closesAt, what: 'the refill application' };
      if (s.stage === 'call' && s.callClosedAt === null) return { at: s.deadlines.call_close, what: 'the application' };
      return null;
    }
    case 'SubmitReview': {
      // Applicants' peer reviews (issue 15) are due with the round, where the policy has them.
      if (!by(command, 'reviewer') && !(by(command, 'applicant') && hasPeerReview(s))) return null;
      const round = openRound(s, ['review', 'refill']);
      return round ? { at: round.dueAt, what: 'the review' } : null;
    }
    case 'DeclineReviewAssignment':
    case 'DeclareConflictOfInterest': {
      // An applicant's decline of a peer review (issue 15) is due with the review itself.
      if (!(by(command, 'applicant') && hasPeerReview(s))) return null;
      const round = openRound(s, ['review']);
      return round ? { at: round.dueAt, what: 'declining the peer review' } : null;
    }
    case 'SubmitModel': {
      if (!by(command, 'applicant')) return null;
      const round = evaluationRound(s, command.data.round);
      return round && !round.submissionsClosed ? { at: round.submissionDueAt, what: 'the model submission' } : null;
    }
    case 'SubmitEvaluationScores': {
      if (!by(command, 'evaluator', 'reviewer')) return null;
      const round = evaluationRound(s, command.data.round);
      return round ? { at: round.dueAt, what: 'the evaluation scores' } : null;
    }
    case 'ApproveSelection':
    case 'OverrideSelection':
      return by(command, 'program_manager') && pending(s, 'selection') ? { at: s.deadlines.selection_approval_due, what: 'the approval' } : null;
    case 'ApproveNarrowing':
    case 'OverrideNarrowing': {
      const dec = by(command, 'program_manager') ? pending(s, 'narrowing') : null;
      return dec && command.data.round === dec.round ? { at: s.deadlines.narrowing_approval_due, what: 'the approval' } : null;
    }
    case 'ObjectToDecision':
    case 'WaiveObjection': {
      if (!by(command, 'applicant') || s.stage !== 'objection' || !s.decision?.outcome || s.decision.windowClosed) return null;
      return { at: s.decision.objectionWindowEndsAt, what: 'an objection' };
    }
    case 'SelectRefillEntrants':
      if (!by(command, 'program_manager') || s.stage !== 'refill' || s.refill?.phase !== 'selection' || !s.refill.proposal) return null;
      return { at: s.deadlines.refill_approval_due, what: 'the refill decision' };
    case 'SubmitGrantReport':
      return by(command, 'applicant') ? reportDueFor(s, command.data) : null;
    default:
      // Everything else has no deadline of its own; DeadlinePassed is the timer itself.
      return null;
  }
}

function openRound(s: RunningCycle, kinds: RoundRecord['kind'][]): RoundRecord | null {
  const r = s.currentRound ? s.rounds[s.currentRound] : undefined;
  return r && kinds.includes(r.kind) && !r.closed && r.dueAt !== null ? r : null;
}

function evaluationRound(s: RunningCycle, round: unknown): RoundRecord | null {
  const r = openRound(s, ['evaluation']);
  return r && r.round === round ? r : null;
}

function pending(s: RunningCycle, kind: DecisionRecord['kind']): DecisionRecord | null {
  const dec = s.decision;
  return s.stage === kind && dec && dec.kind === kind && !dec.outcome ? dec : null;
}
