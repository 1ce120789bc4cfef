/**
 * Distributed peer review (issue 15, item 2) re-derived: the assignment, every decline's
 * reassignment and every missed-reviews consequence again, from the state as the event found it,
 * with the domain's own rule. Its own file so that rederive.ts stays within the file size limit.
 */
import { assignPeerReviewers, canonicalJson, missedPeerReviews, replacePeerReviewer, type CycleEvent, type RunningCycle } from '@concentra/domain';

type PeerEvent = Extract<CycleEvent, { type: 'PeerReviewersAssigned' | 'PeerReviewsMissed' | 'PeerReviewAssignmentDeclined' }>;

export interface PeerCheck {
  decisionKey: string;
  kind: 'peer_assignment' | 'peer_reviews_missed' | 'peer_decline';
  differences: Array<{ field: string; recorded: unknown; rederived: unknown }>;
}

const compare = (field: string, recorded: unknown, rederived: unknown) => (canonicalJson(recorded) === canonicalJson(rederived ?? null) ? [] : [{ field, recorded, rederived: rederived ?? null }]);



export function rederivePeer(s: RunningCycle, event: PeerEvent): PeerCheck {
  switch (event.type) {
    case 'PeerReviewersAssigned': {
      const { at, ...recorded } = event.data;
      const again = assignPeerReviewers(s, recorded.roundKey, at)[0];
      const { at: _again, ...rederived } = (again?.data ?? {}) as { at?: string };
      return { decisionKey: `${recorded.roundKey}:peer-assignment`, kind: 'peer_assignment', differences: compare('assignment', recorded, rederived) };
    }
    case 'PeerReviewsMissed': {
      // The first applicant still owing peer reviews as the round closed, and the policy's rule for it.
      const round = s.rounds[event.data.roundKey];
      const again = round ? missedPeerReviews(s, round, event.data.at)[0]?.data : undefined;
      return { decisionKey: `${event.data.roundKey}:peer-reviews-missed:${event.data.applicationId}`, kind: 'peer_reviews_missed', differences: compare('consequence', event.data, again) };
    }
    case 'PeerReviewAssignmentDeclined': {
      // Who took the declined review and what the decliner got in its place, from the assignments as they stood.
      const d = event.data;
      const round = s.rounds[d.roundKey];
      const again = round?.peers ? replacePeerReviewer(s, round, d.applicationId, d.reviewer, d.by, d.reason, d.at).data : undefined;
      return { decisionKey: `${d.roundKey}:peer-decline:${d.reviewer}:${d.applicationId}`, kind: 'peer_decline', differences: compare('reassignment', d, again) };
    }
  }
}
