/**
 * An applicant declines a peer review assigned to its application (issue 15, item 2): a
 * DeclineReviewAssignment (or a conflict-of-interest declaration) sent with the applicant's role,
 * a reason required. The declined application is reassigned and the declining applicant gets
 * another application in its place, so that neither ends with a review fewer where a review can
 * be had:
 *
 * - `had_room`: an applicant with room (fewer than `perApplicant` live assignments), not conflicted
 *   with the application, not yet reviewing it and not having declined it, takes it; the least
 *   loaded first, then a seeded order (`<lotterySeed>:<roundKey>:peer`). The decliner then gets
 *   the least reviewed application it may review (same seed), if any.
 * - `exchanged`: nobody has room (every applicant owes `perApplicant` already): the first applicant
 *   by the same order that can take the declined application hands the decliner one of its own
 *   not yet reviewed assignments that the decliner may review, so that every load and every
 *   application's count of reviews stay as assigned.
 * - otherwise nobody takes it (`replacement: null`), and the decliner still gets an application in
 *   its place if one is free.
 *
 * A decline never lets an applicant escape `onMissedReviews`: what it owes is its assignments as
 * they stand after the decline (peer-review.ts `peerReviewsOwed`).
 */
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { fail } from '../shared/errors';
import type { DeclareConflictOfInterest, DeclineReviewAssignment } from './commands';
import type { CycleEvent } from './events';
import { requireApplication, requireRole, requireRunning, requireText } from './guards';
import type { PeerReviewAssignmentDeclined } from './peer-review-events';
import { peerPolicy } from './peer-review';
import { peerAssignments, peerConflict, peerScorer } from './peer-review-state';
import { hasSheetBy } from './sheets';
import type { CycleState, RoundRecord, RunningCycle } from './state';

const seeded = (seed: string, a: string, b: string) => bytesToHex(sha256(utf8ToBytes(`${seed}:${a}:${b}`)));

/** Whether applicant `by` declined to review `target` in the round. */
export const peerDeclined = (round: RoundRecord, by: string, target: string): boolean => !!round.peerDeclined?.[by]?.includes(target);

/** Whether applicant `by` may be given `target` to review: live, not its own, not conflicted, not already assigned, not declined. */
function mayReview(s: RunningCycle, round: RoundRecord, by: string, target: string): boolean {
  return (
    by !== target &&
    s.applications[target]?.status === 'submitted' &&
    peerConflict(s, by, target) === null &&
    !peerAssignments(round, by).includes(target) &&
    !peerDeclined(round, by, target)
  );
}

/** The reassignment of `target` declined by applicant `by` (the event; the state is the one before it). */
export function replacePeerReviewer(s: RunningCycle, round: RoundRecord, target: string, by: string, declinedBy: string, reason: string, now: string): PeerReviewAssignmentDeclined {
  const policy = peerPolicy(s, round)!;
  const seed = `${s.lotterySeed}:${round.roundKey}:peer`;
  const live = round.candidates.filter((id) => s.applications[id]?.status === 'submitted');
  // Loads count live applications only: one withdrawn leaves its reviewers room.
  const load = (id: string) => peerAssignments(round, id).filter((t) => s.applications[t]?.status === 'submitted').length;
  const takers = live
    .filter((r) => r !== by && mayReview(s, round, r, target))
    .map((r) => ({ r, load: load(r), draw: seeded(seed, target, r) }))
    .sort((a, b) => a.load - b.load || (a.draw < b.draw ? -1 : 1));
  // What the decliner may take in its place, the least reviewed first (its assignments without `target`).
  const received = (t: string) => live.filter((r) => peerAssignments(round, r).includes(t)).length;
  const forDecliner = (from: readonly string[]) =>
    from
      .filter((t) => t !== target && mayReview(s, round, by, t))
      .map((t) => ({ t, received: received(t), draw: seeded(seed, by, t) }))
      .sort((a, b) => a.received - b.received || (a.draw < b.draw ? -1 : 1))[0]?.t ?? null;

  let replacement: PeerReviewAssignmentDeclined['data']['replacement'] = null;
  let instead: string | null = null;
  const withRoom = takers.find((x) => x.load < policy.perApplicant);
  if (withRoom) {
    replacement = { reviewer: withRoom.r, reason: 'had_room' };
  } else {
    for (const { r } of takers) {
      const gives = forDecliner(peerAssignments(round, r).filter((t) => !hasSheetBy(round, t, peerScorer(r))));
      if (gives) {
        replacement = { reviewer: r, reason: 'exchanged', gives };
        instead = gives;
        break;
      }
    }
  }
  if (!instead && load(by) - 1 < policy.perApplicant) instead = forDecliner(live);
  return { type: 'PeerReviewAssignmentDeclined', data: { roundKey: round.roundKey, applicationId: target, reviewer: by, by: declinedBy, reason, replacement, instead, at: now } };
}

/** The open peer-review round and the applicant of the actor's organisation assigned to review `target` (refusals name why not). */
function assignedPeer(state: CycleState, cmd: DeclineReviewAssignment | DeclareConflictOfInterest): { s: RunningCycle; round: RoundRecord; by: string; target: string } {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  if (!round || round.kind !== 'review' || round.closed || round.dueAt === null) {
    const anyClosed = Object.values(s.rounds).some((r) => r.kind === 'review' && r.closed);
    fail(anyClosed ? 'deadline_passed' : 'invalid_state', anyClosed ? 'the review round has closed: peer reviews can no longer be declined' : 'no review round is open', 'stage');
  }
  if (!round.peers) fail('forbidden', 'applicants do not review in this round (its policy has no peer review)', 'actor.role');
  const target = requireApplication(s, cmd.data.applicationId).applicationId;
  if (s.applications[target].status !== 'submitted') fail('invalid_state', 'this application is no longer in the review round (nothing to review or decline)', 'applicationId');
  const org = cmd.actor.organisationId;
  const mine = round.candidates.filter((id) => org && s.applications[id].lead === org && s.applications[id].status === 'submitted');
  const assigned = mine.filter((id) => peerAssignments(round, id).includes(target));
  if (assigned.length === 0) fail('forbidden', "this application is not assigned to your organisation's application for peer review", 'applicationId');
  const by = assigned.find((id) => !hasSheetBy(round, target, peerScorer(id)));
  if (!by) fail('duplicate', 'your application already reviewed this application: a submitted review cannot be declined', 'applicationId');
  return { s, round, by, target };
}

export function declinePeerAssignment(state: CycleState, cmd: DeclineReviewAssignment, now: string): CycleEvent[] {
  const { s, round, by, target } = assignedPeer(state, cmd);
  const reason = requireText(cmd.data.reason, 'reason');
  return [replacePeerReviewer(s, round, target, by, cmd.actor.subject, reason, now)];
}

/** An applicant declares a conflict with an application assigned to it: recorded, and declined as above. */
export function declarePeerConflict(state: CycleState, cmd: DeclareConflictOfInterest, now: string): CycleEvent[] {
  const { s, round, by, target } = assignedPeer(state, cmd);
  const reason = requireText(cmd.data.reason, 'reason');
  return [
    { type: 'ConflictOfInterestDeclared', data: { applicationId: target, scorer: cmd.actor.subject, reason, at: now } },
    replacePeerReviewer(s, round, target, by, cmd.actor.subject, `declared conflict of interest: ${reason}`, now),
  ];
}
