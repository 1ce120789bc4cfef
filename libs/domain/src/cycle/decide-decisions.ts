/** Program-manager decisions (selection, narrowing, refill) and the objections that may follow them. */
import { DomainError, fail } from '../shared/errors';
import type {
  ApproveNarrowing,
  ApproveSelection,
  DecideObjection,
  ObjectToDecision,
  OverrideNarrowing,
  OverrideSelection,
  RecordTeamsNotified,
  SelectRefillEntrants,
  WaiveObjection,
} from './commands';
import type { CycleEvent } from './events';
import { chain, distinct, requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireStage, requireText } from './guards';
import { closeObjectionWindow, finalizeDecision, rerunDecision, selectRefillEntrants, startObjectionWindow, takeDecision } from './decision-flow';
import type { CycleState, DecisionRecord, RunningCycle } from './state';
import { requireFundedByPools } from './funding-pools';

export function pendingDecision(s: RunningCycle, kind: DecisionRecord['kind']): DecisionRecord {
  requireStage(s, kind);
  const dec = s.decision;
  if (!dec || dec.kind !== kind || dec.outcome) fail('invalid_state', `no ${kind} is waiting for approval`, 'stage');
  return dec;
}

function optionalText(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

function requireKnownTeams(dec: DecisionRecord, ids: unknown, field: string): string[] {
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string')) fail('validation_failed', 'must be a list of application ids', field);
  if (!distinct(ids)) fail('validation_failed', 'lists a team twice', field);
  const unknown = ids.find((id) => !dec.candidates.includes(id));
  if (unknown) fail('validation_failed', `"${unknown}" is not a candidate in this ranking (teams removed by a gate cannot be chosen)`, field);
  return ids;
}

export function approveSelection(state: CycleState, cmd: ApproveSelection, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const dec = pendingDecision(s, 'selection');
  const rationale = optionalText(cmd.data?.rationale);
  return takeDecision(s, dec.proposed, { by: cmd.actor.subject, at: now, ...(rationale ? { rationale } : {}) }, false, rationale, now);
}

export function overrideSelection(state: CycleState, cmd: OverrideSelection, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const dec = pendingDecision(s, 'selection');
  const rationale = requireText(cmd.data?.rationale, 'rationale');
  const awardees = requireKnownTeams(dec, cmd.data.awardees, 'awardees');
  requireFundedByPools(s, awardees);
  const floor = Math.min(dec.minKeep, dec.candidates.length);
  if (awardees.length > dec.plannedKeep || awardees.length < floor) {
    fail('validation_failed', `the policy allows ${floor} to ${dec.plannedKeep} awardees`, 'awardees');
  }
  return takeDecision(s, awardees, { by: cmd.actor.subject, at: now, rationale }, true, rationale, now);
}

export function requireRound(dec: DecisionRecord, round: unknown): void {
  if (round !== dec.round) fail('conflict', `the narrowing waiting for approval is round ${dec.round}`, 'round');
}

export function approveNarrowing(state: CycleState, cmd: ApproveNarrowing, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const dec = pendingDecision(s, 'narrowing');
  requireRound(dec, cmd.data?.round);
  const rationale = optionalText(cmd.data.rationale);
  return takeDecision(s, dec.proposed, { by: cmd.actor.subject, at: now, ...(rationale ? { rationale } : {}) }, false, rationale, now);
}

export function overrideNarrowing(state: CycleState, cmd: OverrideNarrowing, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const dec = pendingDecision(s, 'narrowing');
  requireRound(dec, cmd.data?.round);
  const rationale = requireText(cmd.data.rationale, 'rationale');
  const { keep, keepCount } = cmd.data;
  if ((keep === undefined) === (keepCount === undefined)) fail('validation_failed', 'give either keepCount or keep (the teams to keep)', 'keep');
  let kept: string[];
  if (keepCount !== undefined) {
    if (!Number.isInteger(keepCount) || keepCount < 0 || keepCount > dec.candidates.length) {
      fail('validation_failed', `must be a whole number from 0 to ${dec.candidates.length}`, 'keepCount');
    }
    kept = dec.candidates.slice(0, keepCount);
  } else {
    kept = requireKnownTeams(dec, keep, 'keep');
  }
  const same = kept.length === dec.proposed.length && kept.every((id) => dec.proposed.includes(id));
  return takeDecision(s, kept, { by: cmd.actor.subject, at: now, rationale }, !same, rationale, now);
}

/** The decision an affected team may object to right now. */
export function openObjectionWindow(s: RunningCycle): DecisionRecord {
  if (s.stage !== 'objection' || !s.decision?.outcome) fail('invalid_state', 'no decision is open to objections', 'stage');
  const dec = s.decision;
  if (dec.windowClosed) fail('deadline_passed', 'the objection window has closed', 'stage');
  return dec;
}

function requireAffected(dec: DecisionRecord, applicationId: string): void {
  if (!dec.outcome!.dropped.includes(applicationId)) fail('forbidden', 'only teams the decision goes against may object or waive', 'applicationId');
  if (dec.objections[applicationId]) fail('duplicate', `this team already ${dec.objections[applicationId].status === 'waived' ? 'waived' : 'objected'}`, 'applicationId');
}

/** Closes the window early once every affected team has objected or waived. */
function afterResponse(s: RunningCycle, events: CycleEvent[], now: string): CycleEvent[] {
  return chain(s, events, (next) => {
    const dec = next.decision!;
    const allAnswered = dec.outcome!.dropped.every((id) => dec.objections[id]);
    return allAnswered ? closeObjectionWindow(next, now, true) : [];
  });
}

/** An applicant answering a decision: the lead organisation of a team the open decision affects. */
function affectedTeam(state: CycleState, cmd: ObjectToDecision | WaiveObjection) {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const dec = openObjectionWindow(s);
  const app = requireApplication(s, cmd.data.applicationId);
  requireLeadOrganisation(cmd.actor, app);
  requireAffected(dec, app.applicationId);
  return { s, dec, app };
}

export function objectToDecision(state: CycleState, cmd: ObjectToDecision, now: string): CycleEvent[] {
  const { s, dec, app } = affectedTeam(state, cmd);
  const grounds = requireText(cmd.data.grounds, 'grounds');
  return afterResponse(s, [{ type: 'ObjectionFiled', data: { decisionKey: dec.key, applicationId: app.applicationId, grounds, by: cmd.actor.subject, filedAt: now } }], now);
}

export function waiveObjection(state: CycleState, cmd: WaiveObjection, now: string): CycleEvent[] {
  const { s, dec, app } = affectedTeam(state, cmd);
  return afterResponse(s, [{ type: 'ObjectionWaived', data: { decisionKey: dec.key, applicationId: app.applicationId, by: cmd.actor.subject, at: now } }], now);
}

export function decideObjection(state: CycleState, cmd: DecideObjection, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  if (s.stage !== 'objection' || !s.decision) fail('invalid_state', 'no objection is waiting for a decision', 'stage');
  const dec = s.decision;
  const objection = dec.objections[cmd.data?.applicationId];
  if (!objection || objection.status === 'waived') throw new DomainError('not_found', 'this team has not objected', 'applicationId');
  if (objection.status !== 'filed') fail('duplicate', `this objection was already ${objection.status}`, 'applicationId');
  if (typeof cmd.data.upheld !== 'boolean') fail('validation_failed', 'must be true or false', 'upheld');
  const reasoning = requireText(cmd.data.reasoning, 'reasoning');
  const decided: CycleEvent = {
    type: 'ObjectionDecided',
    data: { decisionKey: dec.key, applicationId: cmd.data.applicationId, upheld: cmd.data.upheld, reasoning, by: cmd.actor.subject, at: now },
  };
  return chain(s, [decided], (next) => {
    if (cmd.data.upheld) return rerunDecision(next, now);
    const stillPending = Object.values(next.decision!.objections).some((o) => o.status === 'filed');
    return next.decision!.windowClosed && !stillPending ? finalizeDecision(next, now) : [];
  });
}

export function selectRefill(state: CycleState, cmd: SelectRefillEntrants, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  requireStage(s, 'refill');
  const refill = s.refill!;
  if (refill.phase !== 'selection' || !refill.proposal) fail('invalid_state', 'no refill ranking is waiting for a decision', 'stage');
  const ids = cmd.data?.applicationIds;
  if (!Array.isArray(ids) || ids.some((x) => typeof x !== 'string') || !distinct(ids)) fail('validation_failed', 'must be a list of distinct application ids', 'applicationIds');
  const unknown = ids.find((id) => !refill.proposal!.candidates.includes(id));
  if (unknown) fail('validation_failed', `"${unknown}" is not a candidate in the refill ranking`, 'applicationIds');
  if (ids.length > refill.seats) fail('validation_failed', `only ${refill.seats} seat(s) are vacant`, 'applicationIds');
  const same = ids.length === refill.proposal.proposed.length && ids.every((id) => refill.proposal!.proposed.includes(id));
  const rationale = optionalText(cmd.data.rationale);
  if (!same && !rationale) fail('validation_failed', 'a rationale is required when the selection differs from the ranking', 'rationale');
  return selectRefillEntrants(s, ids, { by: cmd.actor.subject, at: now, ...(rationale ? { rationale } : {}) }, rationale, now);
}

/** The workflow found the decision's notice delivered to these teams: their windows start now (a stale or repeated report changes nothing). */
export function recordTeamsNotified(state: CycleState, cmd: RecordTeamsNotified, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const s = requireRunning(state);
  if (s.stage !== 'objection' || s.decision?.key !== cmd.data?.decisionKey || !Array.isArray(cmd.data.applicationIds)) return [];
  return startObjectionWindow(s, cmd.data.applicationIds, true, now);
}
