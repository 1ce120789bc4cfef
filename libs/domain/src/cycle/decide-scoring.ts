/** Reviews, conflict-of-interest declarations, model submissions and evaluation scores. */
import { validateSheet } from '../scoring/weighted';
import { DomainError, fail } from '../shared/errors';
import type { Actor, DeclareConflictOfInterest, SubmitEvaluationScores, SubmitModel, SubmitReview } from './commands';
import type { CycleEvent } from './events';
import { requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireText } from './guards';
import { hasSheetBy } from './sheets';
import { assignedOpenRound, replaceReviewer, requireAssigned } from './assignment';
import { modelOf, withoutMeasured } from './decide-benchmark';
import type { EvaluationStage } from '../policy/schema';
import type { ApplicationRef, CycleState, RoundRecord, RunningCycle } from './state';

/** The scoring round open right now, if any, of the given kinds. */
export function openRound(s: RunningCycle, kinds: RoundRecord['kind'][]): RoundRecord | null {
  const r = s.currentRound ? s.rounds[s.currentRound] : undefined;
  return r && kinds.includes(r.kind) && !r.closed && r.dueAt !== null ? r : null;
}

/**
 * Same organisation as the lead or a consortium member, or a declared conflict: the scorer may not
 * score this application. Detection uses the actor's organisation and the panel's record of it:
 *
 * - a named panel member is checked against the list worked out when the application came in (or
 *   its membership changed): `applications[id].conflicted`;
 * - the actor's own organisation is checked against the lead (in the state) and, when the command
 *   carries it, the consortium (`data.consortium`, filled in by the API from the applications
 *   projection). A scorer who is not on a named panel and names an organisation must come with the
 *   consortium, or the command is refused: the state keeps no member lists.
 */
function refuseConflicts(s: RunningCycle, actor: Actor, app: ApplicationRef, declared: boolean | undefined, consortium: unknown): void {
  if (declared === undefined || typeof declared !== 'boolean') fail('validation_failed', 'a conflict-of-interest declaration { declared } is required', 'conflictOfInterest.declared');
  if (declared) throw new DomainError('conflict_of_interest', 'a scorer who declares a conflict of interest cannot score this application', 'conflictOfInterest');
  if (s.conflicts.some((c) => c.scorer === actor.subject && c.applicationId === app.applicationId)) {
    throw new DomainError('conflict_of_interest', 'this scorer declared a conflict of interest with this application', 'conflictOfInterest');
  }
  if (consortium !== undefined) {
    if (!Array.isArray(consortium) || consortium.some((o) => typeof o !== 'string')) fail('validation_failed', 'must be a list of organisation ids', 'consortium');
    if (!consortium.includes(app.lead)) fail('validation_failed', 'must list the lead organisation of the application', 'consortium');
  }
  const panelOrg = [...s.panel.reviewers, ...s.panel.evaluators].find((p) => p.subject === actor.subject)?.organisationId;
  const clash = (org: string) => {
    const role = org === app.lead ? 'the lead organisation' : 'a consortium member';
    throw new DomainError('conflict_of_interest', `the scorer belongs to ${role} of this application`, 'actor.organisationId');
  };
  if (app.conflicted?.includes(actor.subject)) clash(panelOrg ?? '');
  const orgs = [actor.organisationId, panelOrg].filter((o): o is string => !!o);
  const known = (consortium as string[] | undefined) ?? [app.lead];
  const found = orgs.find((o) => known.includes(o));
  if (found) clash(found);
  const onNamedPanel = panelOrg !== undefined || [...s.panel.reviewers, ...s.panel.evaluators].some((p) => p.subject === actor.subject);
  if (!onNamedPanel && actor.organisationId && consortium === undefined) {
    fail('validation_failed', "the application's consortium (organisation ids) is required to check a scorer who is not on a named panel", 'consortium');
  }
}

function requirePanel(s: RunningCycle, actor: Actor, groups: Array<'reviewers' | 'evaluators'>): void {
  const members = groups.flatMap((g) => s.panel[g]);
  if (members.length > 0 && !members.some((p) => p.subject === actor.subject)) fail('forbidden', `not on this cycle's ${groups.join(' or ')} panel`, 'actor.subject');
}

/** Score ids are recorded in the events only; a scorer scores an application once per round (checked by the callers). */
function requireScoreId(id: unknown, field: string): string {
  return requireText(id, field);
}

export function declareConflict(state: CycleState, cmd: DeclareConflictOfInterest, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'reviewer', 'evaluator');
  const s = requireRunning(state);
  const app = requireApplication(s, cmd.data.applicationId);
  const reason = requireText(cmd.data.reason, 'reason');
  if (s.conflicts.some((c) => c.scorer === cmd.actor.subject && c.applicationId === app.applicationId)) fail('duplicate', 'this conflict is already declared', 'applicationId');
  const declared: CycleEvent = { type: 'ConflictOfInterestDeclared', data: { applicationId: app.applicationId, scorer: cmd.actor.subject, reason, at: now } };
  // Issue 15: an assigned reviewer who declares a conflict is replaced, as if they had declined.
  const assigned = assignedOpenRound(s, app.applicationId, cmd.actor.subject);
  return assigned ? [declared, ...replaceReviewer(s, assigned, app.applicationId, cmd.actor.subject, `declared conflict of interest: ${reason}`, now)] : [declared];
}

/**
 * A scorer's sheet: one per scorer, candidate and round; no conflict of interest; values on the
 * policy's scales. Returns its verdicts.
 */
function admitSheet(
  s: RunningCycle,
  round: RoundRecord,
  actor: Actor,
  app: ApplicationRef,
  scoreId: string,
  d: SubmitReview['data'] | SubmitEvaluationScores['data'],
  duplicate: string,
): Record<string, 'pass' | 'fail'> {
  if (hasSheetBy(round, app.applicationId, actor.subject)) fail('duplicate', duplicate, 'applicationId');
  refuseConflicts(s, actor, app, d.conflictOfInterest?.declared, d.consortium);
  const verdicts = d.verdicts ?? {};
  validateSheet(s.policy.scoring[round.scoring], { scoreId, candidateId: app.applicationId, scorerId: actor.subject, values: d.scores ?? {}, verdicts });
  return verdicts;
}

export function submitReview(state: CycleState, cmd: SubmitReview, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'reviewer');
  const s = requireRunning(state);
  const round = openRound(s, ['review', 'refill']);
  if (!round) {
    const anyClosed = Object.values(s.rounds).some((r) => r.kind !== 'evaluation' && r.closed);
    fail(anyClosed ? 'deadline_passed' : 'invalid_state', anyClosed ? 'the review round has closed' : 'no review round is open', 'stage');
  }
  requirePanel(s, cmd.actor, ['reviewers']);
  const d = cmd.data;
  const app = requireApplication(s, d.applicationId);
  if (!round.candidates.includes(app.applicationId) || app.status !== 'submitted') fail('invalid_state', 'this application is not in the open review round', 'applicationId');
  requireAssigned(s, round, app.applicationId, cmd.actor); // issue 15: only assigned reviewers score, when the round assigns
  const reviewId = requireScoreId(d.reviewId, 'reviewId');
  const verdicts = admitSheet(s, round, cmd.actor, app, reviewId, d, 'this reviewer already reviewed this application in this round');
  return [
    { type: 'ReviewSubmitted', data: { reviewId, roundKey: round.roundKey, applicationId: app.applicationId, reviewer: cmd.actor.subject, scores: d.scores, verdicts, submittedAt: now } },
  ];
}

export function requireEvaluationRound(s: RunningCycle, round: unknown): RoundRecord {
  const r = openRound(s, ['evaluation']);
  if (!r) fail('invalid_state', 'no evaluation round is open', 'stage');
  if (round !== r.round) {
    const past = typeof round === 'number' && round < r.round;
    fail(past ? 'deadline_passed' : 'validation_failed', `evaluation round ${String(round)} is not open (round ${r.round} is)`, 'round');
  }
  return r;
}

export function submitModel(state: CycleState, cmd: SubmitModel, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const round = requireEvaluationRound(s, cmd.data.round);
  if (round.submissionsClosed) fail('deadline_passed', 'model submissions for this round are closed', 'round');
  const app = requireApplication(s, cmd.data.applicationId);
  requireLeadOrganisation(cmd.actor, app);
  if (!round.candidates.includes(app.applicationId) || app.status !== 'active') fail('invalid_state', 'this team is not in this evaluation round', 'applicationId');
  if (round.submissions[app.applicationId]) fail('duplicate', 'a model was already submitted for this round', 'applicationId');
  const model = modelOf(s.policy.stages[round.stageIndex] as EvaluationStage, cmd.data);
  return [{ type: 'ModelSubmitted', data: { roundKey: round.roundKey, round: round.round, applicationId: app.applicationId, ...model, submittedAt: now, by: cmd.actor.subject } }];
}

export function submitEvaluationScores(state: CycleState, cmd: SubmitEvaluationScores, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'evaluator', 'reviewer');
  const s = requireRunning(state);
  const round = requireEvaluationRound(s, cmd.data.round);
  requirePanel(s, cmd.actor, ['evaluators', 'reviewers']);
  const d = cmd.data;
  const app = requireApplication(s, d.applicationId);
  if (!round.candidates.includes(app.applicationId) || app.status !== 'active') fail('invalid_state', 'this team is not in this evaluation round', 'applicationId');
  if (!round.submissions[app.applicationId]) fail('invalid_state', 'this team has not submitted a model to score', 'applicationId');
  const scoreSetId = requireScoreId(d.scoreSetId, 'scoreSetId');
  const stage = s.policy.stages[round.stageIndex] as EvaluationStage;
  const verdicts = admitSheet(s, round, cmd.actor, app, scoreSetId, withoutMeasured(s.policy.scoring[round.scoring], stage, d), 'this evaluator already scored this team in this round');
  return [
    {
      type: 'EvaluationScoresSubmitted',
      data: { scoreSetId, roundKey: round.roundKey, round: round.round, applicationId: app.applicationId, evaluator: cmd.actor.subject, scores: d.scores, verdicts, submittedAt: now },
    },
  ];
}
