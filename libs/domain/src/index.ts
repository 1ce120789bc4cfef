// Public surface of @concentra/domain: pure, deterministic, safe to import from workflow code.
export * from './shared/errors';
export * from './shared/time';
export * from './shared/canonical';
export * from './shared/storable';

export * from './policy/schema';
export * from './policy/funding-pools';
export * from './policy/parse';
export * from './policy/cross-checks';
export * from './policy/defaults';

export * from './scoring/lottery';
export * from './scoring/weighted';
export * from './scoring/rank';
export * from './scoring/record';
export * from './scoring/aggregates';

export * from './evaluation';

export * from './program/program';
export * from './cycle/commands';
export * from './cycle/deadlines';
export type * from './cycle/events';
export type * from './cycle/pool-events';
export type * from './cycle/grant-events';
export * from './cycle/state';
export { evolve, evolveAll, stagesAfter } from './cycle/evolve';
export { decide } from './cycle/decide';
export { admit } from './cycle/admit';
export { rankRound, closingRanking, excludesBelowMinimum, liveInRound, missingScores } from './cycle/pipeline';
export { callCandidates, nextCycleOpensAt } from './cycle/stage-basis';
export { decisionPool, teamsAwaitingNotice } from './cycle/decision-flow';
export { measurementOf } from './cycle/decide-benchmark';
export * from './cycle/next-year';
export * from './cycle/decision-rules';
export { roundSheets, encodeSheet, decodeSheet } from './cycle/sheets';
export * from './cycle/obligations';
export * from './cycle/notices';
export * from './cycle/grant-gpus';
export { checkEligibility } from './cycle/eligibility';
export * from './cycle/scorer-organisation';
// Issue 15: what real programs also do (any duration, reviewer assignment, funding tiers).
export { objectionWindow, objectionWindowEndsAt } from './cycle/periods';
export { assignedTo, assignmentPolicy, assignReviewers, requireAssigned } from './cycle/assignment';
export { selectionProposal, type SelectionProposal } from './cycle/funding-tiers';
export { allocatePools, hoursPerGpu, poolOf, type PoolAllocation } from './cycle/funding-pools';
export type * from './cycle/peer-review-events';
export { assignPeerReviewers, missedPeerReviews, peerPolicy, peerReviewsOwed } from './cycle/peer-review';
export { peerAssignments, peerScorer } from './cycle/peer-review-state';
export { replacePeerReviewer } from './cycle/peer-review-decline';
export * from './policy/grant-reports-schema';
export { grantsToRestore, grantsToSanction, nextReportInstant } from './cycle/grant-reports-state';
export { outstandingReports, sanctionLift } from './cycle/grant-sanction-lift';
export { reportDeadlinePassed } from './cycle/grant-reports';
