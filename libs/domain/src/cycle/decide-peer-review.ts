/**
 * An applicant's peer review (issue 15, item 2): a SubmitReview sent with the applicant's role. Its
 * organisation must lead an application in the open review round that is assigned to review this
 * one (peer-review.ts); the sheet is that application's, once per application reviewed.
 */
import { validateSheet } from '../scoring/weighted';
import { DomainError, fail } from '../shared/errors';
import type { SubmitReview } from './commands';
import type { CycleEvent } from './events';
import { requireApplication, requireRole, requireRunning, requireText } from './guards';
import { peerAssignments, peerConflict, peerScorer } from './peer-review-state';
import { hasSheetBy } from './sheets';
import type { CycleState } from './state';

export function submitPeerReview(state: CycleState, cmd: SubmitReview, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  if (!round || round.kind !== 'review' || round.closed || round.dueAt === null) {
    const anyClosed = Object.values(s.rounds).some((r) => r.kind === 'review' && r.closed);
    fail(anyClosed ? 'deadline_passed' : 'invalid_state', anyClosed ? 'the review round has closed' : 'no review round is open', 'stage');
  }
  if (!round.peers) fail('forbidden', 'applicants do not review in this round (its policy has no peer review)', 'actor.role');
  const d = cmd.data;
  const app = requireApplication(s, d.applicationId);
  if (!round.candidates.includes(app.applicationId) || app.status !== 'submitted') fail('invalid_state', 'this application is not in the open review round', 'applicationId');
  const org = cmd.actor.organisationId;
  const mine = round.candidates.filter((id) => org && s.applications[id].lead === org && s.applications[id].status === 'submitted');
  if (mine.length === 0) fail('forbidden', 'your organisation leads no application in the open review round', 'actor.organisationId');
  const assigned = mine.filter((id) => peerAssignments(round, id).includes(app.applicationId));
  if (assigned.length === 0) fail('forbidden', "applicants review only the applications assigned to them, and this one is not assigned to your organisation's application", 'applicationId');
  const reviewer = assigned.find((id) => !hasSheetBy(round, app.applicationId, peerScorer(id)));
  if (!reviewer) fail('duplicate', 'your application already reviewed this application in this round', 'applicationId');

  const declared = d.conflictOfInterest?.declared;
  if (typeof declared !== 'boolean') fail('validation_failed', 'a conflict-of-interest declaration { declared } is required', 'conflictOfInterest.declared');
  if (declared) throw new DomainError('conflict_of_interest', 'a reviewer who declares a conflict of interest cannot review this application', 'conflictOfInterest');
  // The assignment left conflicts out; a consortium may have changed since (or the API knows it better).
  const consortium = Array.isArray(d.consortium) ? d.consortium : [];
  if (peerConflict(s, reviewer, app.applicationId) !== null || (org !== undefined && consortium.includes(org))) {
    throw new DomainError('conflict_of_interest', 'your organisation is in the consortium of this application', 'actor.organisationId');
  }
  const reviewId = requireText(d.reviewId, 'reviewId');
  const verdicts = d.verdicts ?? {};
  validateSheet(s.policy.scoring[round.scoring], { scoreId: reviewId, candidateId: app.applicationId, scorerId: peerScorer(reviewer), values: d.scores ?? {}, verdicts });
  return [
    {
      type: 'ReviewSubmitted',
      data: { reviewId, roundKey: round.roundKey, applicationId: app.applicationId, reviewer: cmd.actor.subject, scores: d.scores, verdicts, submittedAt: now, peerOf: reviewer },
    },
  ];
}
