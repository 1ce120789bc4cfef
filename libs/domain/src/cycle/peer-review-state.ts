/**
 * Distributed peer review (issue 15, item 2) as the state keeps it: a leaf of evolve, so it imports
 * nothing of the deciders. The rule itself is in peer-review.ts.
 */
import type { PeerReviewEvent } from './peer-review-events';
import type { RoundRecord, RunningCycle } from './state';
import { setStatus, updateRound } from './state-updates';

/** The sheet scorer of an applicant's peer reviews: one per reviewing application, whoever of its organisation sends them (`~` and its id, short: the state keeps it per sheet). */
export const peerScorer = (applicationId: string): string => `~${applicationId}`;

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
  if (event.type === 'PeerReviewAssignmentDeclined') {
    return updateRound(s, d.roundKey, (r) => {
      const e = event.data;
      const at = (id: string) => r.candidates.indexOf(id);
      const peers = r.candidates.map((id, i) => {
        let list = r.peers?.[i] ?? [];
        if (id === e.reviewer) list = [...list.filter((j) => j !== at(e.applicationId)), ...(e.instead ? [at(e.instead)] : [])];
        if (e.replacement && id === e.replacement.reviewer) list = [...list.filter((j) => e.replacement?.reason !== 'exchanged' || j !== at(e.replacement.gives)), at(e.applicationId)];
        return list;
      });
      return { ...r, peers, peerDeclined: { ...r.peerDeclined, [e.reviewer]: [...(r.peerDeclined?.[e.reviewer] ?? []), e.applicationId] } };
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
 * The state after an application's organisations became known (ApplicationSubmitted) or changed
 * (MembershipChanged), when the policy has peer review: it lists the applications it shares an
 * organisation with, as recorded. Each pair is kept once (the later application lists the earlier
 * one), so a change first takes the application out of every other list. Without peer review the
 * state is left as it is.
 */
export function sharingOrganisations(s: RunningCycle, applicationId: string, shares: readonly string[] | undefined, changed = false): RunningCycle {
  if (!hasPeerReview(s) || !s.applications[applicationId]) return s;
  const applications = { ...s.applications };
  const set = (id: string, list: string[]) => {
    const { sharesOrganisationWith: _old, ...rest } = applications[id];
    applications[id] = list.length > 0 ? { ...rest, sharesOrganisationWith: list } : rest;
  };
  if (changed) {
    for (const [id, app] of Object.entries(applications)) if (app.sharesOrganisationWith?.includes(applicationId)) set(id, app.sharesOrganisationWith.filter((x) => x !== applicationId));
  }
  set(applicationId, (shares ?? []).filter((id) => id !== applicationId && applications[id]));
  return { ...s, applications };
}

/** Whether two applications share an organisation, as recorded (either lists the other). */
export const sharing = (s: RunningCycle, a: string, b: string): boolean => !!s.applications[a]?.sharesOrganisationWith?.includes(b) || !!s.applications[b]?.sharesOrganisationWith?.includes(a);

/**
 * Why the applicant of `reviewerId` may not review `targetId`, or null: the same lead organisation,
 * or an organisation in both (recorded as `sharesOrganisationWith`). Its own application is never assigned.
 */
export function peerConflict(s: RunningCycle, reviewerId: string, targetId: string): 'same_organisation' | 'consortium_member' | null {
  const r = s.applications[reviewerId];
  const t = s.applications[targetId];
  if (!r || !t) return null;
  if (r.lead === t.lead) return 'same_organisation';
  return sharing(s, reviewerId, targetId) ? 'consortium_member' : null;
}
