/**
 * What people (and the workflow itself) ask a cycle to do. Plain JSON so a command can travel as a
 * Temporal Update argument; `decide` accepts or refuses it as a whole.
 */
import type { GpuAllocation, ProgramPolicy } from '../policy/schema';
import type { Verdict } from '../scoring/weighted';
import type { DeadlineKind } from './deadlines';

export type Role = 'program_manager' | 'applicant' | 'reviewer' | 'evaluator' | 'auditor' | 'system';

export interface Actor {
  role: Role;
  /** Stable identity of the person or service (e.g. OIDC subject, or "workflow"). */
  subject: string;
  organisationId?: string;
}

export interface Organisation {
  organisationId: string;
  name: string;
  /** Matched against the policy's eligibility types, e.g. "company", "university". */
  type: string;
}

export interface PanelMember {
  subject: string;
  organisationId?: string;
  /** Expertise tags, matched against an application's `topics` by reviewer assignment (issue 15); absent = none. */
  expertise?: string[];
}

export interface Artifact {
  name: string;
  /** Hex SHA-256 of the artifact. */
  sha256: string;
}

/** A capacity row a GPU refusal looked at (from the ledger's refusal). */
export interface WithheldCapacity {
  capacityId: string;
  gpuType: string;
  count: number;
  held: number;
  free: number;
  why: string;
  lessorOrganisationId: string | null;
}

type Cmd<T extends string, D> = { type: T; actor: Actor; data: D };

export type OpenCall = Cmd<
  'OpenCall',
  {
    programSlug: string;
    year: number;
    policy: ProgramPolicy;
    /** If given, must equal policyHash(policy): the caller pinned this exact version. */
    policyHash?: string;
    /** Published before the call so nobody can pick it after seeing the scores; defaults to the cycle id. */
    lotterySeed?: string;
    panel: { reviewers: PanelMember[]; evaluators: PanelMember[] };
  }
>;
export type SubmitApplication = Cmd<
  'SubmitApplication',
  {
    /** Slug chosen by the API (also the team slug in grant workflow ids). */
    applicationId: string;
    title: string;
    summary?: string;
    lead: Organisation;
    members: Organisation[];
    /** GPUs asked for (of the grant stage's first type), when the policy takes requests (`applicantRequests`). */
    gpusRequested?: number;
    /** Topic tags that reviewer assignment matches with reviewers' expertise (issue 15); absent = none. */
    topics?: string[];
    /** The applicant's region, e.g. "kr-seoul": funding pools and caps per region count it (issue 15); absent = none. */
    region?: string;
    /**
     * Ids of this cycle's applications that share an organisation (lead or member) with this one,
     * filled in by the API from the applications projection, never by the actor (as `consortium` on
     * scores): peer review's conflicts (issue 15); the state keeps no member lists.
     */
    sharesOrganisationWith?: string[];
  }
>;
export type WithdrawApplication = Cmd<'WithdrawApplication', { applicationId: string; reason?: string }>;
/** `sharesOrganisationWith`: as on SubmitApplication, for the new consortium (filled in by the API). */
export type ApproveMembershipChange = Cmd<'ApproveMembershipChange', { applicationId: string; members: Organisation[]; rationale: string; sharesOrganisationWith?: string[] }>;
export type DeclareConflictOfInterest = Cmd<'DeclareConflictOfInterest', { applicationId: string; reason: string }>;
export type SubmitReview = Cmd<
  'SubmitReview',
  {
    reviewId: string;
    applicationId: string;
    scores: Record<string, number>;
    verdicts?: Record<string, Verdict>;
    conflictOfInterest: { declared: boolean; note?: string };
    /**
     * Organisation ids of the application's lead and consortium members, filled in by the API from
     * the applications projection (never by the actor). Needed to check a scorer who is not on a
     * named panel for a conflict of interest; see libs/domain/README.md.
     */
    consortium?: string[];
  }
>;
export type DeadlinePassed = Cmd<'DeadlinePassed', { deadline: DeadlineKind; at: string }>;
export type ApproveSelection = Cmd<'ApproveSelection', { rationale?: string }>;
export type OverrideSelection = Cmd<'OverrideSelection', { awardees: string[]; rationale: string }>;
/**
 * A team's model for the program to measure: an OpenAI-compatible chat-completions base URL, the
 * model's name there, and the *name* of a credential the workers hold (never the secret itself).
 */
export interface ModelEndpointRef {
  baseUrl: string;
  model: string;
  credentialRef?: string;
}

/**
 * A model for an evaluation round: an artifact (the form every round takes), and/or an endpoint the
 * program measures itself with the artifacts (weights, tokenizer) the provenance check compares.
 */
export type SubmitModel = Cmd<'SubmitModel', { applicationId: string; round: number; artifact?: { uri: string; sha256: string }; endpoint?: ModelEndpointRef; artifacts?: Artifact[] }>;
/** The evaluation service's measurement of a team's endpoint (the workflow records what its activity answered). */
export type RecordBenchmarkResult = Cmd<'RecordBenchmarkResult', MeasuredBenchmark>;

/** What a benchmark run measured: per item, right (1), wrong (0) or unanswered (-1), and the SHA-256 of the answer. */
export interface MeasuredBenchmark {
  applicationId: string;
  round: number;
  runId: string;
  suite: string;
  suiteVersion: string;
  seed: string;
  outcomes: Array<[string, 1 | 0 | -1, string | null]>;
  itemErrors: Array<{ itemId: string; error: string }>;
  /** The originality check of the submitted artifacts, when the policy gates on it. */
  provenance?: { verdict: 'pass' | 'fail'; registryVersion: string; reason: string; evidence: Array<{ artifact: string; sha256: string; matches: Array<{ model: string; source: string; file: string }> }> };
}
export type SubmitEvaluationScores = Cmd<
  'SubmitEvaluationScores',
  {
    scoreSetId: string;
    applicationId: string;
    round: number;
    scores: Record<string, number>;
    verdicts?: Record<string, Verdict>;
    conflictOfInterest: { declared: boolean; note?: string };
    /**
     * Organisation ids of the application's lead and consortium members, filled in by the API from
     * the applications projection (never by the actor). Needed to check a scorer who is not on a
     * named panel for a conflict of interest; see libs/domain/README.md.
     */
    consortium?: string[];
  }
>;
export type ApproveNarrowing = Cmd<'ApproveNarrowing', { round: number; rationale?: string }>;
/** Keep a different set: either the top `keepCount` of the ranking or the listed teams. */
export type OverrideNarrowing = Cmd<'OverrideNarrowing', { round: number; keepCount?: number; keep?: string[]; rationale: string }>;
export type ObjectToDecision = Cmd<'ObjectToDecision', { applicationId: string; grounds: string }>;
export type WaiveObjection = Cmd<'WaiveObjection', { applicationId: string }>;
export type DecideObjection = Cmd<'DecideObjection', { applicationId: string; upheld: boolean; reasoning: string }>;
export type SelectRefillEntrants = Cmd<'SelectRefillEntrants', { applicationIds: string[]; rationale?: string }>;
export type RecordGrantStarted = Cmd<'RecordGrantStarted', { applicationId: string; grantId: string; allocationId?: string }>;
/** The program manager sets a team's GPU amount (alternatives in order), with a rationale; it wins over the policy's amounts. */
export type SetGrantGpus = Cmd<'SetGrantGpus', { applicationId: string; gpus: GpuAllocation[]; rationale: string }>;
/** What the pool withheld from a grant: the ledger's refusal, compact (the grant reports it, the cycle records it). */
export interface WithheldGpus {
  kind: 'refused' | 'partial';
  reason: string;
  message: string;
  rule: string | null;
  retryable: boolean;
  /** Whether the grant keeps asking by itself (policy `onRefusal: retry_until` and a refusal that may pass later). */
  retrying: boolean;
  policyVersion: number | null;
  capacity: WithheldCapacity[];
  /** GPUs served (a partial grant) and asked for, in the served type. */
  served: number | null;
  asked: number | null;
}

/** The grant workflow reports that the pool refused its GPUs, or served only part of them. */
export type RecordGpusWithheld = Cmd<'RecordGpusWithheld', { applicationId: string; grantId: string } & WithheldGpus>;
/** A grant that was refused or partly served now holds all it asked for (topped up). */
export type RecordGpusServed = Cmd<'RecordGpusServed', { applicationId: string; grantId: string; served: number }>;
export type RecordGrantEnded = Cmd<'RecordGrantEnded', { applicationId: string; grantId: string; reason: string; gpuHoursUsed?: number }>;
/** A public-use contract for a finalist's model, as the program manager records it. */
export interface ProcurementContract {
  contractId: string;
  applicationId: string;
  agency: string;
  model: string;
  term: { start: string; end: string };
  amount: { value: number; currency: string };
  budgetLine: string;
}
export type RecordProcurementContract = Cmd<'RecordProcurementContract', ProcurementContract>;
export type RecordReleaseDeclaration = Cmd<
  'RecordReleaseDeclaration',
  { applicationId: string; repository: string; licence: string; artifacts: Artifact[] }
>;
export type CancelCycle = Cmd<'CancelCycle', { reason: string }>;
/** The workflow found the decision's notice delivered to these affected teams: their objection window starts. */
export type RecordTeamsNotified = Cmd<'RecordTeamsNotified', { decisionKey: string; applicationIds: string[] }>;
/** An assigned reviewer declines an application (issue 15): another is assigned in their place when one is free. */
export type DeclineReviewAssignment = Cmd<'DeclineReviewAssignment', { applicationId: string; reason: string }>;
/** The grant workflow reports a change the GPU ledger refused for good (non-retryable); the grant went on unchanged. */
export type RecordLedgerRefusal = Cmd<'RecordLedgerRefusal', { applicationId: string; grantId: string; change: string; code: string; message: string }>;
/** A funded team submits one of its grant's reports (issue 15; policy `grantReports`). */
export type SubmitGrantReport = Cmd<'SubmitGrantReport', { applicationId: string; reportId: string; summary: string; documentUri?: string }>;
/** A program manager reviews a submitted report: accepted, or changes requested (with a comment). */
export type ReviewGrantReport = Cmd<'ReviewGrantReport', { applicationId: string; reportId: string; outcome: 'accepted' | 'changes_requested'; comment?: string }>;

export type CycleCommand =
  | OpenCall
  | SubmitApplication
  | WithdrawApplication
  | ApproveMembershipChange
  | DeclareConflictOfInterest
  | SubmitReview
  | DeadlinePassed
  | ApproveSelection
  | OverrideSelection
  | SubmitModel
  | RecordBenchmarkResult
  | SubmitEvaluationScores
  | ApproveNarrowing
  | OverrideNarrowing
  | ObjectToDecision
  | WaiveObjection
  | DecideObjection
  | SelectRefillEntrants
  | RecordGrantStarted
  | RecordGrantEnded
  | SetGrantGpus
  | RecordGpusWithheld
  | RecordGpusServed
  | RecordProcurementContract
  | RecordReleaseDeclaration
  | CancelCycle
  | RecordTeamsNotified
  | DeclineReviewAssignment
  | SubmitGrantReport
  | ReviewGrantReport
  | RecordLedgerRefusal;

export type CycleCommandType = CycleCommand['type'];

/**
 * Commands people give a running cycle (each reaches it as a Temporal Update of the same name). The
 * workflow's own commands (opening the call, deadlines, its grants' reports) are SYSTEM_COMMAND_TYPES.
 */
export const PERSON_COMMAND_TYPES = [
  'SubmitApplication',
  'WithdrawApplication',
  'ApproveMembershipChange',
  'DeclareConflictOfInterest',
  'SubmitReview',
  'ApproveSelection',
  'OverrideSelection',
  'SubmitModel',
  'SubmitEvaluationScores',
  'ApproveNarrowing',
  'OverrideNarrowing',
  'ObjectToDecision',
  'WaiveObjection',
  'DecideObjection',
  'SelectRefillEntrants',
  'SetGrantGpus',
  'RecordProcurementContract',
  'RecordReleaseDeclaration',
  'CancelCycle',
  'DeclineReviewAssignment',
  'SubmitGrantReport',
  'ReviewGrantReport',
] as const satisfies readonly CycleCommandType[];
export type PersonCommandType = (typeof PERSON_COMMAND_TYPES)[number];

/** Commands the cycle workflow gives itself: never an Update from outside. */
export const SYSTEM_COMMAND_TYPES = ['OpenCall', 'DeadlinePassed', 'RecordGrantStarted', 'RecordGrantEnded', 'RecordGpusWithheld', 'RecordGpusServed', 'RecordTeamsNotified', 'RecordBenchmarkResult', 'RecordLedgerRefusal'] as const satisfies readonly CycleCommandType[];

export const COMMAND_TYPES = [...SYSTEM_COMMAND_TYPES, ...PERSON_COMMAND_TYPES] as const;

// Compile-time check that the two lists above name every command type.
type _MissingCommandType = Exclude<CycleCommandType, (typeof COMMAND_TYPES)[number]>;
const _commandTypesComplete: _MissingCommandType extends never ? true : never = true;
