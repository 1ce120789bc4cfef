/** Distributed peer review (issue 15, item 2; policy `review.peerReview`): its events. The rule is in peer-review.ts. */
type Ev<T extends string, D> = { type: T; data: D };

/** Why an applicant may not review an application: it is its own, or the two share an organisation (lead or consortium member). */
export type PeerExclusionReason = 'same_organisation' | 'consortium_member';

export type PeerReviewersAssigned = Ev<
  'PeerReviewersAssigned',
  {
    roundKey: string;
    perApplicant: number;
    weight: number;
    /**
     * Per reviewing applicant (its application id): the applications it reviews, each chosen as the
     * least reviewed so far (then a seeded order: `seed`); and those it may not review and why
     * (absent when none). Its own application is never among them.
     */
    assignments: Array<{ applicationId: string; reviews: string[]; conflicts?: Partial<Record<PeerExclusionReason, string[]>> }>;
    /** How many peer reviews each application will receive. */
    received: Record<string, number>;
    /** Applicants given fewer applications than `perApplicant` (too few unconflicted ones in the round). */
    short: Array<{ applicationId: string; have: number; need: number }>;
    seed: string;
    dueAt: string;
    at: string;
  }
>;

/**
 * An applicant had not submitted every peer review it was assigned when the round closed, and the
 * policy's `onMissedReviews` rule applied to its own application: `none` (recorded only),
 * `reject_own_application` (dropped from the round) or `penalty` (points off its total).
 */
export type PeerReviewsMissed = Ev<
  'PeerReviewsMissed',
  { roundKey: string; applicationId: string; assigned: string[]; missing: string[]; rule: 'none' | 'reject_own_application' | 'penalty'; penalty: number | null; at: string }
>;

/**
 * An applicant declined a peer review assigned to its application (`reviewer`), with a reason (a
 * declared conflict, for one): who reviews `applicationId` in its place and why (`had_room`, or
 * `exchanged`: that applicant gave the decliner `gives` of its own assignments), null when nobody
 * could; and what the decliner reviews in its place (`instead`), null when nothing was free.
 * peer-review-decline.ts has the rule.
 */
export type PeerReviewAssignmentDeclined = Ev<
  'PeerReviewAssignmentDeclined',
  {
    roundKey: string;
    applicationId: string;
    reviewer: string;
    by: string;
    reason: string;
    replacement: { reviewer: string; reason: 'had_room' } | { reviewer: string; reason: 'exchanged'; gives: string } | null;
    instead: string | null;
    at: string;
  }
>;

export type PeerReviewEvent = PeerReviewersAssigned | PeerReviewsMissed | PeerReviewAssignmentDeclined;

/**
 * On ApplicationSubmitted and MembershipChanged when the policy has peer review: the applications of
 * the cycle that share an organisation with this one (as the API found them in the applications
 * projection); absent when none. Evolve keeps each pair once instead of member lists.
 */
export interface PeerConflictFacts {
  sharesOrganisationWith?: string[];
}
