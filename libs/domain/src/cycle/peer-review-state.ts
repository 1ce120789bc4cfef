/**
 * Distributed peer review (issue 15, item 2) as the state keeps it: a leaf of evolve, so it imports
 * nothing of the deciders. The rule itself is in peer-review.ts.
 */
import type { PeerReviewEvent } from './peer-review-events';
import type { RoundRecord, RunningCycle } from './state';
import { setStatus, updateRound } from './state-updates';

/** The sheet scorer of an applicant's peer reviews: one per reviewing application, whoever of its organisation sends them. */
export const peerScorer = (applicationId: string): string => `peer:${applicationId}`;

/** Whether any review stage of the policy has peer review (the state then keeps consortium members). */
export const hasPeerReview = (s: RunningCycle): boolean => s.policy.stages.some((st) => st.kind === 'review' && st.peerReview !== undefined);

/** The applications `applicationId` is assigned to review in the round (none when the round has no peer review). */
export function peerAssignments(round: RoundRecord, applicationId: string): string[] {
  const i = round.candidates.indexOf(applicationId);
  return i < 0 || !round.peers ? [] : (round.peers[i] ?? []).map((j) => round.candidates[j]);
}

/** The state after a peer-review event (evolve). */
export function withPeerReview(s: RunningCycle, event: PeerReviewEvent): RunningCycle {
  const d = event.data;
  if (event.type === 'PeerReviewersAssigned') {
    return updateRound(s, d.roundKey, (r) => {
      const by = new Map(event.data.assignments.map((a) => [a.applicationId, a.reviews]));
      return { ...r, peers: r.candidates.map((id) => (by.get(id) ?? []).map((t) => r.candidates.indexOf(t))) };
    });
  }
  const m = event.data;
  const next = updateRound(s, m.roundKey, (r) => ({
    ...r,
    peerMissed: [...(r.peerMissed ?? []), m.applicationId],
    ...(m.rule === 'penalty' && m.penalty !== null ? { penalties: { ...r.penalties, [m.applicationId]: m.penalty } } : {}),
  }));
  return m.rule === 'reject_own_application' ? setStatus(next, [m.applicationId], 'dropped_in_review') : next;
}

/**
 * Why the applicant of `reviewerId` may not review `targetId`, or null: the same lead organisation,
 * or an organisation in both consortia (lead or member). Its own application is never assigned.
 */
export function peerConflict(s: RunningCycle, reviewerId: string, targetId: string): 'same_organisation' | 'consortium_member' | null {
  const r = s.applications[reviewerId];
  const t = s.applications[targetId];
  if (!r || !t) return null;
  if (r.lead === t.lead) return 'same_organisation';
  const theirs = new Set([t.lead, ...(t.members ?? [])]);
  return [r.lead, ...(r.members ?? [])].some((o) => theirs.has(o)) ? 'consortium_member' : null;
}
