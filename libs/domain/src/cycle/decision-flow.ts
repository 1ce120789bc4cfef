/**
 * A decision from proposal to effect: the ranking proposes, a program manager approves or
 * overrides (or the policy's default applies), affected teams may object, and an upheld objection
 * sends the decision back to a new proposal.
 */
import type { RefillStage } from '../policy/schema';
import type { RankFacts } from '../scoring/record';
import { addDuration, resolveDue } from '../shared/time';
import { objectionWindow as policyWindow, objectionWindowEndsAt as windowEnd } from './periods';
import type { Approval, CycleEvent, DecisionBasis } from './events';
import { decisionOutcome } from './decision-rules';
import { gpusByTeam } from './grant-gpus';
import { chain } from './guards';
import { enterStage, liveInRound } from './pipeline';
import { proposeNarrowing, proposeSelection } from './proposals';
import { callCandidates, grantStage } from './stage-basis';
import { applicationIds, type CycleState, type RunningCycle } from './state';

/** What a decision event records of the ranking it was taken on. */
function basisOf(facts: RankFacts | null | undefined): DecisionBasis {
  return {
    ranking: facts?.order ?? [],
    tieBrokenBy: facts?.tieBrokenBy ?? {},
    removedByGate: facts?.removedByGate ?? [],
    scoreCount: facts?.scoreCount ?? 0,
    lottery: facts?.lottery ?? null,
    inputsHash: facts?.inputsHash ?? '',
    rulesVersion: facts?.rulesVersion ?? 1,
  };
}

/** Teams a decision is about: those still competing in its round (the main call's for a selection). Exported for re-derivation (libs/audit). */
export function decisionPool(s: RunningCycle, kind: 'selection' | 'narrowing', roundKey: string): string[] {
  if (kind === 'selection') return callCandidates(s);
  return liveInRound(s, s.rounds[roundKey]);
}

/** The decision is taken (approved, overridden or by policy default); objections may follow. */
export function takeDecision(s: RunningCycle, kept: string[], approval: Approval, overridden: boolean, rationale: string | null, now: string): CycleEvent[] {
  const dec = s.decision!;
  const { kept: liveKept, dropped } = decisionOutcome(kept, decisionPool(s, dec.kind, dec.roundKey));
  const windowApplies = s.policy.objections.appliesTo.includes(dec.kind) && dropped.length > 0;
  const onNotice = windowApplies && s.policy.objections.windowStartsAt === 'notified';
  const objectionWindowEndsAt = windowApplies && !onNotice ? windowEnd(s.policy, now) : null;
  const objectionWindow = windowApplies
    ? { startsOn: onNotice ? ('notified' as const) : ('decision' as const), days: policyWindow(s.policy), notifiedBy: onNotice ? addDuration(now, s.policy.objections.notifiedWithin ?? NOTIFIED_WITHIN) : null }
    : undefined;
  const common = {
    decisionKey: dec.key,
    ...basisOf(s.rounds[dec.roundKey]?.result),
    policyHash: s.policyHash,
    approval,
    overridden,
    rationale,
    decidedAt: now,
    objectionWindowEndsAt,
    ...(objectionWindow ? { objectionWindow } : {}),
  };
  const event: CycleEvent =
    dec.kind === 'selection'
      ? { type: 'AwardeesSelected', data: { ...common, awardees: liveKept, notSelected: dropped } }
      : { type: 'TeamsNarrowed', data: { ...common, round: dec.round, kept: liveKept, dropped, plannedKeep: dec.plannedKeep } };
  return windowApplies ? [event] : chain(s, [event], (next) => finalizeDecision(next, now));
}

/** How long a window that starts on notice waits for an unreached team when the policy does not say. */
export const NOTIFIED_WITHIN = 'P3D';

/** The affected teams whose window waits for their notice (policy `windowStartsAt: notified`). */
export function teamsAwaitingNotice(s: CycleState): string[] {
  if (s.stage !== 'objection') return [];
  const dec = s.decision;
  if ( !dec?.outcome || dec.windowClosed || !dec.windowStarts) return [];
  return dec.outcome.dropped.filter((id) => !(id in dec.windowStarts!));
}

/**
 * The window opens for `teams` at `now`: their notice was delivered, or (`notified: false`) the
 * policy's bound passed first. Once every affected team's window has started, the decision's window
 * ends one window after the last start, so each team has at least the policy's window after its notice.
 */
export function startObjectionWindow(s: RunningCycle, teams: string[], notified: boolean, now: string): CycleEvent[] {
  const dec = s.decision!;
  const waiting = teamsAwaitingNotice(s);
  const starting = waiting.filter((id) => teams.includes(id));
  if (starting.length === 0) return [];
  const windowEndsAt = starting.length === waiting.length ? windowEnd(s.policy, now) : null;
  return [{ type: 'ObjectionWindowStarted', data: { decisionKey: dec.key, applicationIds: starting, notified, startedAt: now, windowEndsAt } }];
}

/** No objection stands in the way: the decision takes effect and the pipeline moves on. */
export function finalizeDecision(s: RunningCycle, now: string): CycleEvent[] {
  const dec = s.decision!;
  const outcome = dec.outcome!;
  if (dec.kind === 'selection') return enterStage(s, dec.stageIndex + 1, now);
  const eliminated: CycleEvent[] = outcome.dropped
    .filter((id) => s.applications[id]?.status === 'active')
    .map((id) => ({ type: 'TeamEliminated', data: { applicationId: id, round: dec.round, reason: 'narrowed', decisionKey: dec.key, at: now } }));
  return chain(s, eliminated, (next) => enterStage(next, dec.stageIndex + 1, now));
}

/** An upheld objection: the decision is proposed again from the current scores and needs a new approval. */
export function rerunDecision(s: RunningCycle, now: string): CycleEvent[] {
  const dec = s.decision!;
  if (dec.kind === 'selection') return proposeSelection(s, dec.stageIndex, now, true);
  // The round's scores are closed, so the recorded ranking is the current one; the program manager re-decides on it.
  return [proposeNarrowing(s, dec.stageIndex, dec.round, dec.roundKey, s.rounds[dec.roundKey].record!, now, true)];
}

/** Every affected team has objected or waived, or the window ran out. */
export function closeObjectionWindow(s: RunningCycle, now: string, early: boolean): CycleEvent[] {
  const dec = s.decision!;
  const pending = Object.entries(dec.objections)
    .filter(([, o]) => o.status === 'filed')
    .map(([id]) => id);
  const decisionDueAt = pending.length > 0 ? resolveDue(s.policy.missingInputs.objectionDecisionDue, now) : null;
  const closed: CycleEvent = { type: 'ObjectionWindowClosed', data: { decisionKey: dec.key, early, closedAt: now, pending, decisionDueAt } };
  return pending.length > 0 ? [closed] : chain(s, [closed], (next) => finalizeDecision(next, now));
}

export function selectRefillEntrants(s: RunningCycle, entrants: string[], approval: Approval, rationale: string | null, now: string): CycleEvent[] {
  const refill = s.refill!;
  const stage = s.policy.stages[refill.stageIndex] as RefillStage;
  const applicants = applicationIds(s, (a) => a.refillKey === refill.refillKey && a.status === 'submitted');
  const r = refill.proposal ? s.rounds[refill.refillKey]?.result : null;
  const event: CycleEvent = {
    type: 'RefillEntrantsSelected',
    data: {
      refillKey: refill.refillKey,
      entrants,
      notSelected: applicants.filter((id) => !entrants.includes(id)),
      seats: refill.seats,
      scoreCount: r?.scoreCount ?? 0,
      inputsHash: r?.inputsHash ?? null,
      lottery: r?.lottery ?? null,
      policyHash: s.policyHash,
      approval,
      rationale,
      gpusPerEntrant: stage.gpusPerEntrant ?? grantStage(s).gpusPerAwardee,
      ...gpusByTeam(s, entrants, stage.gpusPerEntrant ?? grantStage(s).gpusPerAwardee),
      shiftLaterStagesBy: entrants.length > 0 && stage.shiftLaterStagesBy !== 'P0D' ? stage.shiftLaterStagesBy : null,
      decidedAt: now,
    },
  };
  return chain(s, [event], (next) => enterStage(next, refill.stageIndex + 1, now));
}
