/**
 * What happened in a cycle, as past-tense facts. Each decision event carries what it was decided
 * from (policy hash, score ids, lottery seed and draw, the approval) so it can be re-derived.
 */
import type { GpuAllocation, ProgramPolicy } from '../policy/schema';
import type { PoolEvent } from './pool-events';
import type { FundingLotteryDrawn, ReviewAssignmentDeclined, ReviewersAssigned } from './assignment-events';
export type * from './assignment-events';
import type { RankFacts, RankingRecord } from '../scoring/record';
import type { Verdict } from '../scoring/weighted';
import type { Actor, Artifact, MeasuredBenchmark, ModelEndpointRef, Organisation, PanelMember, ProcurementContract, WithheldGpus } from './commands';
import type { DeadlineKind } from './deadlines';
import type { PeerConflictFacts, PeerReviewEvent } from './peer-review-events';
import type { GrantEscalationReason, GrantEvent } from './grant-events';

/**
 * The ranking a decision was taken on, as a decision event records it: the order (after gates),
 * the tie-break and lottery facts, gate removals, how many scores counted and the inputs hash.
 * Totals and per-criterion means are in the ranking event that proposed it (ReviewRoundClosed,
 * NarrowingProposed, RefillRankingProposed).
 */
export type DecisionBasis = {
  ranking: RankFacts['order'];
  tieBrokenBy: RankFacts['tieBrokenBy'];
  removedByGate: RankFacts['removedByGate'];
  scoreCount: number;
  lottery: RankFacts['lottery'];
  inputsHash: string;
  rulesVersion: number;
};
/** Who approved a decision, or that nobody did and the policy's default applied. */
export type Approval = { by: string; at: string; rationale?: string } | 'policy default';
export type EscalationReason =
  | 'scores_below_minimum'
  | 'approval_overdue'
  | 'objection_decision_overdue'
  | 'fewer_candidates_than_minimum'
  | 'procurement_overdue'
  | 'release_overdue'
  | 'gpus_withheld'
  | 'teams_not_notified'
  /** Reviewer assignment found fewer free, unconflicted reviewers than the policy asks for (issue 15). */
  | 'reviewers_short'
  /** A declared open-source release does not include the evaluated model (issue 15). */
  | 'release_mismatch'
  | GrantEscalationReason; // issue 15: a running grant's escalations (grant-events.ts)
type Ev<T extends string, D> = { type: T; data: D };
export type CallOpened = Ev<
  'CallOpened',
  {
    cycleId: string;
    program: string;
    year: number;
    policy: ProgramPolicy;
    policyHash: string;
    /** The ranking rules version (RULES_VERSION) the cycle runs on for its whole life; absent in cycles recorded before it existed (version 1). */
    rulesVersion?: number;
    lotterySeed: string;
    panel: { reviewers: PanelMember[]; evaluators: PanelMember[] };
    openedAt: string;
    openedBy: string;
    closesAt: string;
    nextCutoffAt: string | null;
  }
>;
export type ApplicationSubmitted = Ev<
  'ApplicationSubmitted',
  {
    applicationId: string;
    title: string;
    summary: string | null;
    lead: Organisation;
    members: Organisation[];
    submittedAt: string;
    submittedBy: string;
    refillKey: string | null;
    /** Present only when the applicant asked for an amount (policy `applicantRequests`). */
    gpusRequested?: number;
    /** Present only when the applicant gave topics (reviewer assignment's expertise match). */
    topics?: string[];
    /** Present only when the applicant named a region (funding pools and caps, issue 15). */ region?: string;
  } & PeerConflictFacts
>;
export type ApplicationWithdrawn = Ev<'ApplicationWithdrawn', { applicationId: string; reason: string | null; withdrawnAt: string; by: string }>;
export type MembershipChanged = Ev<
  'MembershipChanged',
  /** The previous members are in the application's earlier ApplicationSubmitted / MembershipChanged event. */
  { applicationId: string; members: Organisation[]; approvedBy: string; rationale: string; at: string } & PeerConflictFacts
>;
export type CallCutoffPassed = Ev<'CallCutoffPassed', { at: string; applications: number; nextCutoffAt: string | null }>;
export type CallClosed = Ev<'CallClosed', { reason: 'deadline' | 'cutoff' | 'application_limit'; applications: string[]; closedAt: string }>;
export type ReviewRoundOpened = Ev<'ReviewRoundOpened', { roundKey: string; round: number; stageIndex: number; applications: string[]; openedAt: string; dueAt: string }>;
export type ConflictOfInterestDeclared = Ev<'ConflictOfInterestDeclared', { applicationId: string; scorer: string; reason: string; at: string }>;
/** `peerOf`: an applicant's peer review (issue 15), given as the application it reviews for; absent for a panel review. */
export type ReviewSubmitted = Ev<
  'ReviewSubmitted',
  { reviewId: string; roundKey: string; applicationId: string; reviewer: string; scores: Record<string, number>; verdicts: Record<string, Verdict>; submittedAt: string; peerOf?: string }
>;
/** Also evaluation scoring and refill reviews; `deadline` says which timer moved. */
export type ReviewDeadlineExtended = Ev<
  'ReviewDeadlineExtended',
  { roundKey: string; deadline: DeadlineKind; previousDueAt: string; dueAt: string; missing: Array<{ applicationId: string; have: number; need: number }> }
>;
export type EscalationRaised = Ev<
  'EscalationRaised',
  { reason: EscalationReason; subject: string; details: string; raisedAt: string; /** The timer no longer runs: the cycle waits for a person. */ heldDeadline: DeadlineKind | null }
>;
export type ReviewRoundClosed = Ev<
  'ReviewRoundClosed',
  { roundKey: string; round: number; result: RankingRecord; kept: string[]; dropped: string[]; policyHash: string; closedAt: string }
>;
export type SelectionProposed = Ev<
  'SelectionProposed',
  /** The ranking is the one the review round `roundKey` closed with (its ReviewRoundClosed event). */
  { decisionKey: string; stageIndex: number; roundKey: string; candidates: string[]; proposed: string[]; minAwardees: number; maxAwardees: number; approvalDueAt: string; rerun: boolean; policyHash: string }
>;
/** How a selection or narrowing was made final: by whom, against which policy, open to objection until when. */
interface DecisionApproval {
  policyHash: string;
  approval: Approval;
  overridden: boolean;
  rationale: string | null;
  decidedAt: string;
  /** Null while the window waits for the affected teams' notices (`windowStartsOn: 'notified'`). */
  objectionWindowEndsAt: string | null;
  /**
   * Recorded when a window applies (decisions since notice-started windows exist): when it starts,
   * its length (`days`: as the policy gives it, whole days or an ISO-8601 duration), and
   * (`notified`) the instant it starts anyway for a team not reached by then.
   */
  objectionWindow?: { startsOn: 'decision' | 'notified'; days: number | string; notifiedBy: string | null };
}

export type AwardeesSelected = Ev<
  'AwardeesSelected',
  DecisionBasis & {
    decisionKey: string;
    awardees: string[];
    notSelected: string[];
  } & DecisionApproval
>;
export type NarrowingProposed = Ev<
  'NarrowingProposed',
  { decisionKey: string; stageIndex: number; round: number; roundKey: string; result: RankingRecord; candidates: string[]; plannedKeep: number; proposed: string[]; approvalDueAt: string; rerun: boolean; policyHash: string }
>;
export type TeamsNarrowed = Ev<
  'TeamsNarrowed',
  DecisionBasis & {
    decisionKey: string;
    round: number;
    kept: string[];
    dropped: string[];
    plannedKeep: number;
  } & DecisionApproval
>;
export type ObjectionFiled = Ev<'ObjectionFiled', { decisionKey: string; applicationId: string; grounds: string; by: string; filedAt: string }>;
export type ObjectionWaived = Ev<'ObjectionWaived', { decisionKey: string; applicationId: string; by: string; at: string }>;
/**
 * The window opened for these affected teams: their decision notice was delivered (`notified`), or
 * the policy's bound passed first. `windowEndsAt` is set once every affected team's window has
 * started: the decision's window then ends `days` after the last of them.
 */
export type ObjectionWindowStarted = Ev<
  'ObjectionWindowStarted',
  { decisionKey: string; applicationIds: string[]; notified: boolean; startedAt: string; windowEndsAt: string | null }
>;
export type ObjectionWindowClosed = Ev<'ObjectionWindowClosed', { decisionKey: string; early: boolean; closedAt: string; pending: string[]; decisionDueAt: string | null }>;
export type ObjectionDecided = Ev<'ObjectionDecided', { decisionKey: string; applicationId: string; upheld: boolean; reasoning: string; by: string; at: string }>;
export type GrantPeriodStarted = Ev<
  'GrantPeriodStarted',
  {
    stageIndex: number;
    awardees: string[];
    notSelected: string[];
    gpusPerAwardee: GpuAllocation[];
    /** Teams whose amount differs from `gpusPerAwardee` (a capped request, the program manager's amount); absent when none. */
    gpusByTeam?: Record<string, GpuAllocation[]>;
    startedAt: string;
    endsAt: string;
  }
>;
/** A team's GPU amount changed: set by the program manager (`override`, with a rationale) or by an evaluation round's `gpusPerTeam` (`round`). */
export type GrantGpusChanged = Ev<
  'GrantGpusChanged',
  { applicationId: string; grantId: string | null; gpus: GpuAllocation[]; previous: GpuAllocation[] | null; cause: 'override' | 'round'; rationale: string | null; by: string; at: string }
>;
/** A grant that was partly served was topped up: nothing is owed any more. */
export type GrantGpusServed = Ev<'GrantGpusServed', { applicationId: string; grantId: string; served: number; at: string }>;
/** The pool refused a grant its GPUs, or served only part: escalated, owed, retried as the policy says. */
export type GrantGpusWithheld = Ev<
  'GrantGpusWithheld',
  { applicationId: string; grantId: string } & WithheldGpus & {
      /** Until when the grant keeps waiting (policy `onRefusal: retry_until`); null = it gives up. */
      retryUntil: string | null;
      at: string;
    }
>;
export type GrantStarted = Ev<'GrantStarted', { applicationId: string; grantId: string; allocationId: string | null; startedAt: string }>;
export type GrantEnded = Ev<'GrantEnded', { applicationId: string; grantId: string; reason: string; gpuHoursUsed: number | null; endedAt: string }>;
export type GrantPeriodEnded = Ev<'GrantPeriodEnded', { at: string }>;
export type EvaluationRoundOpened = Ev<
  'EvaluationRoundOpened',
  { roundKey: string; round: number; stageIndex: number; teams: string[]; openedAt: string; submissionDueAt: string; scoringDueAt: string }
>;
export type ModelSubmitted = Ev<
  'ModelSubmitted',
  { roundKey: string; round: number; applicationId: string; artifact?: { uri: string; sha256: string }; endpoint?: ModelEndpointRef; artifacts?: Artifact[]; submittedAt: string; by: string }
>;
/**
 * The program's measurement of a team's model, and the points it gives the policy's criterion:
 * the score and its interval are the domain's (`benchmarkScore`) from the recorded outcomes, so
 * re-deriving them from this event gives the same numbers.
 */
export type BenchmarkResultRecorded = Ev<
  'BenchmarkResultRecorded',
  Omit<MeasuredBenchmark, 'round'> & {
    roundKey: string;
    round: number;
    criterion: string;
    accuracy: number;
    interval: { low: number; high: number };
    items: number;
    correct: number;
    errors: number;
    points: number;
    recordedAt: string;
  }
>;
export type EvaluationSubmissionsClosed = Ev<
  'EvaluationSubmissionsClosed',
  { roundKey: string; submitted: string[]; missing: string[]; outcome: 'score_zero' | 'eliminate'; closedAt: string }
>;
export type EvaluationScoresSubmitted = Ev<
  'EvaluationScoresSubmitted',
  { scoreSetId: string; roundKey: string; round: number; applicationId: string; evaluator: string; scores: Record<string, number>; verdicts: Record<string, Verdict>; submittedAt: string }
>;
export type TeamEliminated = Ev<'TeamEliminated', { applicationId: string; round: number; reason: 'narrowed' | 'no_submission'; decisionKey: string | null; at: string }>;
export type GrantExtended = Ev<'GrantExtended', { applicationId: string; grantId: string; extendedUntil: string; gpus: GpuAllocation[] }>;
export type ExtensionStarted = Ev<'ExtensionStarted', { stageIndex: number; finalists: string[]; startedAt: string; endsAt: string }>;
export type ExtensionEnded = Ev<'ExtensionEnded', { at: string }>;
export type RefillSkipped = Ev<'RefillSkipped', { stageIndex: number; activeTeams: number; fillUpTo: number; at: string }>;
export type RefillCallOpened = Ev<
  'RefillCallOpened',
  { refillKey: string; stageIndex: number; seats: number; openTo: { newcomers: boolean; eliminatedTeams: boolean }; openedAt: string; closesAt: string }
>;
export type RefillCallClosed = Ev<'RefillCallClosed', { refillKey: string; applications: string[]; closedAt: string; reviewDueAt: string | null }>;
export type RefillRankingProposed = Ev<
  'RefillRankingProposed',
  { refillKey: string; result: RankingRecord; candidates: string[]; proposed: string[]; seats: number; approvalDueAt: string; policyHash: string }
>;
export type RefillEntrantsSelected = Ev<
  'RefillEntrantsSelected',
  {
    refillKey: string;
    entrants: string[];
    notSelected: string[];
    seats: number;
    /** How many score sheets the refill ranking counted (0 when nobody was ranked). */
    scoreCount: number;
    inputsHash: string | null;
    lottery: RankFacts['lottery'];
    policyHash: string;
    approval: Approval;
    rationale: string | null;
    gpusPerEntrant: GpuAllocation[];
    /** Entrants whose amount differs from `gpusPerEntrant`; absent when none. */
    gpusByTeam?: Record<string, GpuAllocation[]>;
    shiftLaterStagesBy: string | null;
    decidedAt: string;
  }
>;
export type ProcurementOpened = Ev<'ProcurementOpened', { stageIndex: number; finalists: string[]; openedAt: string; contractsDueAt: string; releaseDueAt: string }>;
export type ProcurementAwarded = Ev<'ProcurementAwarded', ProcurementContract & { recordedBy: string; at: string }>;
export type ProcurementDeadlinePassed = Ev<
  'ProcurementDeadlinePassed',
  { deadline: 'procurement_contracts_due' | 'release_due'; missing: string[]; at: string }
>;
export type ModelReleased = Ev<
  'ModelReleased',
  {
    applicationId: string;
    repository: string;
    licence: string;
    artifacts: Artifact[];
    declaredBy: string;
    at: string;
    /** Present when the policy verifies releases (issue 15): the evaluated model's SHA-256 and whether an artifact matched it. */
    verification?: { evaluatedSha256: string | null; matched: boolean };
  }
>;
export type CycleClosed = Ev<
  'CycleClosed',
  {
    outcome: 'completed' | 'completed_with_outstanding' | 'no_teams';
    finalists: string[];
    outstanding: Array<{ applicationId: string; missing: 'procurement_contract' | 'release_declaration' }>;
    closedAt: string;
    nextCycleOpensAt: string | null;
  }
>;
/** `affected`: the live applications (submitted or funded) told of it; absent in cycles cancelled before it was recorded. */
export type CycleCancelled = Ev<'CycleCancelled', { reason: string; by: Actor['subject']; at: string; stage: string; affected?: string[] }>;
export type CycleEvent =
  | CallOpened
  | ApplicationSubmitted
  | ApplicationWithdrawn
  | MembershipChanged
  | CallCutoffPassed
  | CallClosed
  | ReviewRoundOpened
  | ConflictOfInterestDeclared
  | ReviewSubmitted
  | ReviewDeadlineExtended
  | EscalationRaised
  | ReviewRoundClosed
  | SelectionProposed
  | AwardeesSelected
  | NarrowingProposed
  | TeamsNarrowed
  | ObjectionFiled
  | ObjectionWaived
  | ObjectionWindowStarted
  | ObjectionWindowClosed
  | ObjectionDecided
  | GrantPeriodStarted
  | GrantStarted
  | GrantEnded
  | GrantGpusChanged
  | GrantGpusWithheld
  | GrantGpusServed
  | GrantPeriodEnded
  | EvaluationRoundOpened
  | ModelSubmitted
  | BenchmarkResultRecorded
  | EvaluationSubmissionsClosed
  | EvaluationScoresSubmitted
  | TeamEliminated
  | GrantExtended
  | ExtensionStarted
  | ExtensionEnded
  | RefillSkipped
  | RefillCallOpened
  | RefillCallClosed
  | RefillRankingProposed
  | RefillEntrantsSelected
  | ProcurementOpened
  | ProcurementAwarded
  | ProcurementDeadlinePassed
  | ModelReleased
  | CycleClosed
  | CycleCancelled
  | ReviewersAssigned
  | ReviewAssignmentDeclined
  | FundingLotteryDrawn
  | PoolEvent
  | PeerReviewEvent
  | GrantEvent;
export type CycleEventType = CycleEvent['type'];
