/**
 * decide(command, state, now) -> events. Pure: the same command on the same state at the same time
 * gives the same events. It either returns every event the command causes or throws a DomainError
 * and returns nothing, so a Temporal Update validator can call it and a refusal changes nothing.
 *
 * `now` only stamps the events and counts new deadlines from; decide never compares it with an
 * instant. Whether something is late is the state's (the DeadlinePassed path closes calls, rounds
 * and windows); the clock's check of a person's command is `admit` (admit.ts), which the workflow
 * runs in the Update validator only.
 */
import { DomainError } from '../shared/errors';
import { isIsoInstant, normalizeInstant } from '../shared/time';
import { assertStorableCommand } from '../shared/storable';
import type { CycleCommand } from './commands';
import { approveMembershipChange, cancelCycle, openCall, submitApplication, withdrawApplication } from './decide-call';
import { recordBenchmarkResult } from './decide-benchmark';
import { deadlinePassed } from './decide-deadline';
import { approveNarrowing, approveSelection, decideObjection, objectToDecision, overrideNarrowing, overrideSelection, recordTeamsNotified, selectRefill, waiveObjection } from './decide-decisions';
import { recordGpusServed, recordGpusWithheld, recordGrantEnded, recordGrantStarted, recordProcurementContract, recordReleaseDeclaration, setGrantGpus } from './decide-grant';
import { declareConflict, submitEvaluationScores, submitModel, submitReview } from './decide-scoring';
import type { CycleEvent } from './events';
import { declineReviewAssignment } from './assignment';
import { submitPeerReview } from './decide-peer-review';
import { hasPeerReview } from './peer-review-state';
import { declarePeerConflict, declinePeerAssignment } from './peer-review-decline';

import { reviewGrantReport, submitGrantReport } from './grant-reports';
import { recordLedgerRefusal } from './ledger-refusal';
import type { CycleState } from './state';

/** An applicant's command in a cycle whose policy has peer review: a peer review, its decline or a conflict with it (issue 15). */
const peerApplicant = (state: CycleState, command: CycleCommand) => command.actor?.role === 'applicant' && state.stage !== 'not_started' && hasPeerReview(state);

export function decide(command: CycleCommand, state: CycleState, now: string): CycleEvent[] {
  if (typeof now !== 'string' || !isIsoInstant(now)) throw new DomainError('validation_failed', 'now must be an ISO date-time', 'now');
  if (!command || typeof command !== 'object' || !command.actor) throw new DomainError('validation_failed', 'a command with a type, an actor and data is required', 'command');
  if (command.data === null || typeof command.data !== 'object') throw new DomainError('validation_failed', 'data must be an object', 'data');
  assertStorableCommand(command); // nothing PostgreSQL cannot store gets past a validator
  const at = normalizeInstant(now);
  switch (command.type) {
    case 'OpenCall':
      return openCall(state, command, at);
    case 'SubmitApplication':
      return submitApplication(state, command, at);
    case 'WithdrawApplication':
      return withdrawApplication(state, command, at);
    case 'ApproveMembershipChange':
      return approveMembershipChange(state, command, at);
    case 'DeclareConflictOfInterest':
      return peerApplicant(state, command) ? declarePeerConflict(state, command, at) : declareConflict(state, command, at);
    case 'SubmitReview': // an applicant's review is a peer review (issue 15)
      return peerApplicant(state, command) ? submitPeerReview(state, command, at) : submitReview(state, command, at);
    case 'DeadlinePassed':
      return deadlinePassed(state, command, at);
    case 'ApproveSelection':
      return approveSelection(state, command, at);
    case 'OverrideSelection':
      return overrideSelection(state, command, at);
    case 'SubmitModel':
      return submitModel(state, command, at);
    case 'RecordBenchmarkResult':
      return recordBenchmarkResult(state, command, at);
    case 'SubmitEvaluationScores':
      return submitEvaluationScores(state, command, at);
    case 'ApproveNarrowing':
      return approveNarrowing(state, command, at);
    case 'OverrideNarrowing':
      return overrideNarrowing(state, command, at);
    case 'ObjectToDecision':
      return objectToDecision(state, command, at);
    case 'WaiveObjection':
      return waiveObjection(state, command, at);
    case 'DecideObjection':
      return decideObjection(state, command, at);
    case 'SelectRefillEntrants':
      return selectRefill(state, command, at);
    case 'RecordGrantStarted':
      return recordGrantStarted(state, command, at);
    case 'RecordGrantEnded':
      return recordGrantEnded(state, command, at);
    case 'SetGrantGpus':
      return setGrantGpus(state, command, at);
    case 'RecordGpusWithheld':
      return recordGpusWithheld(state, command, at);
    case 'RecordGpusServed':
      return recordGpusServed(state, command, at);
    case 'RecordProcurementContract':
      return recordProcurementContract(state, command, at);
    case 'RecordReleaseDeclaration':
      return recordReleaseDeclaration(state, command, at);
    case 'CancelCycle':
      return cancelCycle(state, command, at);
    case 'RecordTeamsNotified':
      return recordTeamsNotified(state, command, at);
    case 'DeclineReviewAssignment':
      return peerApplicant(state, command) ? declinePeerAssignment(state, command, at) : declineReviewAssignment(state, command, at);
    case 'SubmitGrantReport':
      return submitGrantReport(state, command, at);
    case 'ReviewGrantReport':
      return reviewGrantReport(state, command, at);
    case 'RecordLedgerRefusal':
      return recordLedgerRefusal(state, command, at);
    default: {
      const never: never = command;
      throw new DomainError('validation_failed', `unknown command type ${JSON.stringify((never as { type?: unknown }).type)}`, 'type');
    }
  }
}
