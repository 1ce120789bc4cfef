/**
 * The events of reviewer assignment and the funding lottery (issue 15, items 1 and 3). Their own
 * file so that events.ts stays within the file size limit; CycleEvent includes them.
 */
type Ev<T extends string, D> = { type: T; data: D };

export type AssignmentReason = 'expertise' | 'least_loaded';
export type ExclusionReason = 'same_organisation' | 'consortium_member' | 'declared_conflict' | 'recent_collaboration';
export type ReviewersAssigned = Ev<
  'ReviewersAssigned',
  {
    roundKey: string;
    perApplication: number;
    maxPerReviewer: number;
    /**
     * Per application: who reviews it and, in the same order, why; who may not and why (conflicts
     * only, absent when none; who was full is in `loads`). Compact: a thousand applications stay
     * within the workflow's payload budget.
     */
    assignments: Array<{ applicationId: string; reviewers: string[]; reasons: AssignmentReason[]; conflicts?: Partial<Record<ExclusionReason, string[]>> }>;
    /** Applications per reviewer after assignment. */
    loads: Record<string, number>;
    short: Array<{ applicationId: string; have: number; need: number }>;
    at: string;
  }
>;
export type ReviewAssignmentDeclined = Ev<
  'ReviewAssignmentDeclined',
  { roundKey: string; applicationId: string; reviewer: string; reason: string; replacement: { reviewer: string; reason: AssignmentReason } | null; at: string }
>;
/** The seeded draw among a selection's middle band (policy `fundingTiers`), recorded before the proposal it makes. */
export type FundingLotteryDrawn = Ev<
  'FundingLotteryDrawn',
  {
    decisionKey: string;
    roundKey: string;
    fundAtOrAbove: number;
    rejectBelow: number;
    seats: number;
    /** Top band (total at or above `fundAtOrAbove`) funded without a draw, best first. */
    fundedOutright: string[];
    /** The middle band in ranking order, the order the draw gave it, and who the draw funded. */
    band: string[];
    seed: string;
    order: string[];
    drawnFunded: string[];
    /** Bottom band (total below `rejectBelow`), and the top or middle candidates for whom no award was left. */
    notFunded: string[];
    at: string;
  }
>;
