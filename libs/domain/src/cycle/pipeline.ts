/**
 * Moving along the policy's pipeline: entering the next stage and closing a scoring round (the
 * decisions they propose are in proposals.ts, their course in decision-flow.ts). Every date is computed here from `now` and the policy and written into
 * the event, so that replaying the events never recomputes a date.
 */
import type { RefillStage, ReviewStage } from '../policy/schema';
import { rank, type RankResult } from '../scoring/rank';
import { rankingRecord, type RankingRecord } from '../scoring/record';
import type { Candidate } from '../scoring/weighted';
import { resolveDue } from '../shared/time';
import type { DeadlineKind } from './deadlines';
import type { CycleEvent } from './events';
import { amountFor, gpusByTeam, sameGpus } from './grant-gpus';
import { proposedOf, reviewRoundOutcome } from './decision-rules';
import { chain } from './guards';
import { assignReviewers } from './assignment';
import { assignPeerReviewers, missedPeerReviews, peerWeighted, withPenalty } from './peer-review';
import { proposeNarrowing, proposeSelection } from './proposals';
import { measuredRound } from './benchmark-sheets';
import { roundSheets, sheetCount } from './sheets';
import { base, callCandidates, closeCycle, grantStage } from './stage-basis';
import { activeTeams, type RoundRecord, type RunningCycle } from './state';

function countStages(s: RunningCycle, kind: string, upTo: number): number {
  return s.policy.stages.slice(0, upTo + 1).filter((st) => st.kind === kind).length;
}

export function enterStage(s: RunningCycle, index: number, now: string): CycleEvent[] {
  const stage = s.policy.stages[index];
  if (!stage) return closeCycle(s, now);
  const from = base(s, now);
  const active = activeTeams(s);
  switch (stage.kind) {
    case 'call':
      throw new Error('a call is only opened by OpenCall');
    case 'review': {
      const applications = callCandidates(s);
      if (applications.length === 0) return closeCycle(s, now, 'no_teams');
      const round = countStages(s, 'review', index);
      const opened: CycleEvent = { type: 'ReviewRoundOpened', data: { roundKey: `review:${round}`, round, stageIndex: index, applications, openedAt: now, dueAt: resolveDue(stage.duration, from) } };
      // Reviewer assignment and peer review (issue 15), when the stage has them: as the round opens.
      const assigned = stage.assignment ? chain(s, [opened], (next) => assignReviewers(next, `review:${round}`, now)) : [opened];
      return stage.peerReview ? chain(s, assigned, (next) => assignPeerReviewers(next, `review:${round}`, now)) : assigned;
    }
    case 'selection':
      return proposeSelection(s, index, now, false);
    case 'grant': {
      const awardees = (s.decision?.outcome?.kept ?? []).filter((id) => s.applications[id]?.status === 'submitted');
      if (awardees.length === 0) return closeCycle(s, now, 'no_teams');
      const notSelected = callCandidates(s).filter((id) => !awardees.includes(id));
      return [
        {
          type: 'GrantPeriodStarted',
          data: { stageIndex: index, awardees, notSelected, gpusPerAwardee: stage.gpusPerAwardee, ...gpusByTeam(s, awardees, stage.gpusPerAwardee), startedAt: now, endsAt: resolveDue(stage.duration, from) },
        },
      ];
    }
    case 'evaluation': {
      if (active.length === 0) return closeCycle(s, now, 'no_teams');
      const round = countStages(s, 'evaluation', index);
      const submissionDueAt = resolveDue(stage.submissionDue, from);
      // A round may change every team's GPUs (`gpusPerTeam`); a team with the program manager's amount keeps it.
      const perTeam = stage.gpusPerTeam;
      const changed: CycleEvent[] = !perTeam
        ? []
        : active
            .filter((id) => s.grants[id] && s.grants[id].status !== 'ended' && !s.applications[id].gpusOverride && !sameGpus(s.grants[id].gpus, perTeam))
            .map((id) => ({
              type: 'GrantGpusChanged',
              data: { applicationId: id, grantId: s.grants[id].grantId, gpus: perTeam, previous: s.grants[id].gpus, cause: 'round', rationale: null, by: 'policy', at: now },
            }));
      return [
        ...changed,
        {
          type: 'EvaluationRoundOpened',
          data: { roundKey: `evaluation:${round}`, round, stageIndex: index, teams: active, openedAt: now, submissionDueAt, scoringDueAt: resolveDue(stage.scoringDue, submissionDueAt) },
        },
      ];
    }
    case 'refill': {
      if (active.length >= stage.fillUpTo) {
        return chain(s, [{ type: 'RefillSkipped', data: { stageIndex: index, activeTeams: active.length, fillUpTo: stage.fillUpTo, at: now } }], (next) => enterStage(next, index + 1, now));
      }
      return [
        {
          type: 'RefillCallOpened',
          data: { refillKey: `refill:${index}`, stageIndex: index, seats: stage.fillUpTo - active.length, openTo: stage.openTo, openedAt: now, closesAt: resolveDue(stage.openFor, from) },
        },
      ];
    }
    case 'extension': {
      if (active.length === 0) return closeCycle(s, now, 'no_teams');
      const endsAt = resolveDue(stage.duration, from);
      const extended: CycleEvent[] = active.map((id) => ({
        type: 'GrantExtended',
        // The program manager's amount for a team wins over `gpusPerFinalist`; absent both, the grant keeps its amount.
        data: { applicationId: id, grantId: s.grants[id]?.grantId ?? '', extendedUntil: endsAt, gpus: s.applications[id].gpusOverride ?? stage.gpusPerFinalist ?? s.grants[id]?.gpus ?? amountFor(s, id, grantStage(s).gpusPerAwardee) },
      }));
      return [...extended, { type: 'ExtensionStarted', data: { stageIndex: index, finalists: active, startedAt: now, endsAt } }];
    }
    case 'procurement': {
      if (active.length === 0) return closeCycle(s, now, 'no_teams');
      return [
        {
          type: 'ProcurementOpened',
          data: { stageIndex: index, finalists: active, openedAt: now, contractsDueAt: resolveDue(stage.contractsDue, from), releaseDueAt: resolveDue(stage.openSourceReleaseDue, from) },
        },
      ];
    }
    default: {
      const never: never = stage;
      throw new Error(`unknown stage ${JSON.stringify(never)}`);
    }
  }
}

/** Who is still in a scoring round: call or refill applications still competing, or active teams. */
export function liveInRound(s: RunningCycle, round: RoundRecord): string[] {
  const status = round.kind === 'evaluation' ? 'active' : 'submitted';
  return round.candidates.filter((id) => s.applications[id]?.status === status);
}

/**
 * The full ranking of an open round from the sheets in the state, with the cycle's rules version.
 * Sheets are named `<applicationId>/<scorer>` (see sheets.ts). Exported for re-derivation (libs/audit).
 */
export function rankRound(s: RunningCycle, round: RoundRecord, excludeBelowMinimum: boolean): RankResult {
  const scheme = s.policy.scoring[round.scoring];
  const measured = measuredRound(s.policy.stages[round.stageIndex], scheme, round, liveInRound(s, round), roundSheets(s, round, liveInRound(s, round)));
  const live = measured.live;
  const candidates: Candidate[] = live.map((id) =>
    withPenalty(round, {
      id,
      submittedAt: round.kind === 'evaluation' ? round.submissions[id] : s.applications[id].submittedAt,
      zeroed: round.zeroed.includes(id),
    }),
  );
  return rank({
    scheme,
    rulesVersion: s.rulesVersion,
    candidates,
    sheets: peerWeighted(s, round, measured.sheets),
    seed: `${s.lotterySeed}:${round.roundKey}`,
    excludeBelowMinimum,
  });
}

/**
 * The ranking a scoring round closes with, and its record: the round ranked by the cycle's rules,
 * leaving out applications still short of scores when the missing-input rule says so.
 * Exported for re-derivation (libs/audit).
 */
export function closingRanking(s: RunningCycle, round: RoundRecord): { result: RankResult; record: RankingRecord } {
  const result = rankRound(s, round, excludesBelowMinimum(s, round));
  return { result, record: rankingRecord(result, s.policy.scoring[round.scoring], s.rulesVersion) };
}

/** Applications short of the scheme's minimum number of scores in an open round. */
export function missingScores(s: RunningCycle, round: RoundRecord): Array<{ applicationId: string; have: number; need: number }> {
  const scheme = s.policy.scoring[round.scoring];
  return liveInRound(s, round)
    .filter((id) => !round.zeroed.includes(id))
    .map((id) => ({ applicationId: id, have: sheetCount(round, id), need: scheme.minimumScoresPerApplication }))
    .filter((m) => m.have < m.need);
}

/** The missing-scores rule: after one extension, applications still short may be left out of the ranking. */
export function excludesBelowMinimum(s: RunningCycle, round: RoundRecord): boolean {
  return missingScores(s, round).length > 0 && round.extended && s.policy.missingInputs.scores.stillMissingAfterExtension === 'exclude_application';
}

/** A scoring deadline passed: extend once, or rank and move on, as the missing-input policy says. */
export function closeScoringRound(s: RunningCycle, now: string, deadline: DeadlineKind): CycleEvent[] {
  const round = s.rounds[s.currentRound!];
  const scheme = s.policy.scoring[round.scoring];
  const rule = s.policy.missingInputs.scores;
  const missing = missingScores(s, round);
  if (missing.length > 0 && rule.belowMinimumAtDeadline === 'extend_once_and_escalate' && !round.extended) {
    const dueAt = resolveDue(rule.extendBy, now);
    return [
      { type: 'ReviewDeadlineExtended', data: { roundKey: round.roundKey, deadline, previousDueAt: round.dueAt ?? now, dueAt, missing } },
      {
        type: 'EscalationRaised',
        data: { reason: 'scores_below_minimum', subject: round.roundKey, details: `${missing.length} application(s) below ${scheme.minimumScoresPerApplication} scores; deadline extended to ${dueAt}`, raisedAt: now, heldDeadline: null },
      },
    ];
  }
  // Peer review (issue 15): applicants who owe reviews meet the policy's rule before the round is ranked.
  const missed = missedPeerReviews(s, round, now);
  if (missed.length > 0) return chain(s, missed, (next) => closeScoringRound(next, now, deadline));
  const { result, record } = closingRanking(s, round);
  switch (round.kind) {
    case 'review': {
      const stage = s.policy.stages[round.stageIndex] as ReviewStage;
      const { kept, dropped } = reviewRoundOutcome(stage, result.ranking.map((r) => r.candidateId), liveInRound(s, round));
      const closed: CycleEvent = { type: 'ReviewRoundClosed', data: { roundKey: round.roundKey, round: round.round, result: record, kept, dropped, policyHash: s.policyHash, closedAt: now } };
      return chain(s, [closed], (next) => enterStage(next, round.stageIndex + 1, now));
    }
    case 'evaluation':
      return [proposeNarrowing(s, round.stageIndex, round.round, round.roundKey, record, now, false)];
    case 'refill': {
      const stage = s.policy.stages[round.stageIndex] as RefillStage;
      const candidates = result.ranking.map((r) => r.candidateId);
      const seats = s.refill!.seats;
      return [
        {
          type: 'RefillRankingProposed',
          data: { refillKey: round.roundKey, result: record, candidates, proposed: proposedOf(candidates, seats), seats, approvalDueAt: resolveDue(stage.approvalDue, now), policyHash: s.policyHash },
        },
      ];
    }
    default: {
      const never: never = round.kind;
      throw new Error(`unknown round kind ${String(never)}`);
    }
  }
}
