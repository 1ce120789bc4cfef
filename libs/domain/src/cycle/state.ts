/**
 * Everything a cycle needs to decide the next command, rebuilt from its events by `evolve`.
 * Plain JSON so the workflow can carry it across continue-as-new.
 *
 * Compact by rule (ARCHITECTURE.md: 256 KB at 1,000 applications): ids, the lead organisation's id
 * and type, statuses, numeric scores and gate verdicts, deadlines and decision bookkeeping. Texts
 * (titles, summaries, rationales, grounds, reasons), consortium member lists, artifacts, documents,
 * score ids and per-criterion ranking breakdowns live in the events and the projections only.
 * `libs/domain/src/cycle/state-budget.spec.ts` measures it.
 */
import type { GpuAllocation, ProgramPolicy } from '../policy/schema';
import type { ReportConsequence } from '../policy/grant-reports-schema';
import type { RankFacts, RankingRecord } from '../scoring/record';
import type { Verdict } from '../scoring/weighted';
import type { Artifact, ModelEndpointRef, PanelMember } from './commands';
import type { DeadlineKind } from './deadlines';
import type { EscalationReason } from './events';

export type CycleStage =
  | 'not_started'
  | 'call'
  | 'review'
  | 'selection'
  | 'grant'
  | 'evaluation'
  | 'narrowing'
  | 'objection'
  | 'extension'
  | 'refill'
  | 'procurement'
  | 'closed'
  | 'cancelled';

export type ApplicationStatus = 'submitted' | 'withdrawn' | 'dropped_in_review' | 'not_selected' | 'active' | 'eliminated';

/** An application as decisions need it; its title, summary and consortium are in its events. Keyed by application id. */
export interface ApplicationRecord {
  /** Organisation id of the lead. */
  lead: string;
  /** The lead's organisation type (eligibility of a membership change). */
  leadType: string;
  status: ApplicationStatus;
  /** ISO instant of submission (the `earliest_submission` tie-break). */
  submittedAt: string;
  /** Set only when the application answered a refill call. */
  refillKey?: string;
  /**
   * Subjects of named panel members (state.panel) whose organisation is the lead or a consortium
   * member: they may not score it. Worked out when it is submitted and when its membership changes;
   * absent when there are none.
   */
  conflicted?: string[];
  /** GPUs the applicant asked for (policy `applicantRequests`); absent when none. */
  gpusRequested?: number;
  /** The program manager's GPU amount for this team (GrantGpusChanged `override`); wins over the policy's amounts. */
  gpusOverride?: GpuAllocation[];
  /** Topic tags (reviewer assignment's expertise match); absent when none. */
  topics?: string[];
  /** The applicant's region (funding pools and caps); absent when none. */
  region?: string;
  /** The amount the selection's funding pools awarded (FundingPoolsAllocated); absent without pools or award. */
  gpusAwarded?: GpuAllocation[];
  /** SHA-256 of the team's last model submission, kept only when the policy verifies releases (issue 15). */
  evaluatedModel?: string;
  /** Panel reviewers whose organisation recently collaborated with one of the consortium's (policy `recentCollaborations`); absent when none. */
  collaborating?: string[];
  /** Earlier applications sharing an organisation with this one (lead or member), when the policy has peer review (issue 15): each pair once; absent when none. */
  sharesOrganisationWith?: string[];
}

/** An application record with its id, as the deciders pass it around. */
export type ApplicationRef = ApplicationRecord & { applicationId: string };

/**
 * One score sheet in a round: `[scorer, ...scores in the scheme's criterion order, ...verdicts in
 * its gate order]` (verdicts only when the scheme has gates; `null` where none was given).
 */
export type SheetRow = Array<string | number | Verdict | null>;

/** A scoring round: a review round, an evaluation round or a refill call's review. */
export interface RoundRecord {
  roundKey: string;
  kind: 'review' | 'evaluation' | 'refill';
  round: number;
  stageIndex: number;
  scoring: string;
  candidates: string[];
  /** When scores are due (null while a refill call is still open). */
  dueAt: string | null;
  extended: boolean;
  /** Score sheets by application id while the round is open; emptied when it closes (its ranking is in `result`). */
  sheets: Record<string, SheetRow[]>;
  /** Evaluation rounds only. */
  submissionDueAt: string | null;
  /** Evaluation rounds: when each team submitted its model (the artifact is in the ModelSubmitted event). */
  submissions: Record<string, string>;
  submissionsClosed: boolean;
  zeroed: string[];
  /** Evaluation rounds: the endpoints (and artifacts) submitted to be measured, by team; a handful of teams, a few short ids each. */
  models?: Record<string, { endpoint: ModelEndpointRef; artifacts?: Artifact[] }>;
  /** Evaluation rounds with a benchmark: the measured points per team and its provenance verdict (null when not gated). */
  measured?: Record<string, { points: number; provenance: 'pass' | 'fail' | null }>;
  closed: boolean;
  /** The ranking the round closed with (order, ties, gates, lottery). */
  result: RankFacts | null;
  /**
   * Evaluation rounds only (a handful of teams): the whole recorded ranking, which a narrowing
   * re-proposed after an upheld objection records again.
   */
  record?: RankingRecord;
  /**
   * Review rounds with reviewer assignment (issue 15): who is assigned to each application, as places
   * in `panel.reviewers` (compact; `assignedTo` names them); only they may score it.
   */
  assigned?: Record<string, number[]>;
  /** ... and who declined it (never assigned to it again), likewise. */
  declined?: Record<string, number[]>;
  /**
   * Review rounds with peer review (issue 15): per candidate, in `candidates` order, the places in
   * `candidates` of the applications it reviews (compact, as `assigned`).
   */
  peers?: number[][];
  /** ... per applicant, the applications it declined to review (PeerReviewAssignmentDeclined; never assigned to it again). */
  peerDeclined?: Record<string, string[]>;
  /** ... applicants whose missed peer reviews met the policy's rule (PeerReviewsMissed), and points taken off totals for them. */
  peerMissed?: string[];
  penalties?: Record<string, number>;
  /** Review rounds whose selection has funding tiers (issue 15): each ranked application's total, for the bands. */
  totals?: Record<string, number>;
}

export interface ObjectionRecord {
  status: 'filed' | 'waived' | 'upheld' | 'dismissed' | 'moot';
  at: string;
}

export interface DecisionOutcome {
  kept: string[];
  dropped: string[];
  overridden: boolean;
  decidedAt: string;
}

/** A selection or narrowing from proposal to final (after any objection window). Its ranking is `rounds[roundKey].result`. */
export interface DecisionRecord {
  key: string;
  kind: 'selection' | 'narrowing';
  stageIndex: number;
  round: number;
  roundKey: string;
  candidates: string[];
  proposed: string[];
  plannedKeep: number;
  minKeep: number;
  approvalDueAt: string;
  outcome: DecisionOutcome | null;
  objectionWindowEndsAt: string | null;
  /** Window started on notice (policy `windowStartsAt: notified`): each affected team's start; absent otherwise. */
  windowStarts?: Record<string, string>;
  windowClosed: boolean;
  objections: Record<string, ObjectionRecord>;
}

export interface RefillRecord {
  refillKey: string;
  stageIndex: number;
  seats: number;
  openTo: { newcomers: boolean; eliminatedTeams: boolean };
  phase: 'open' | 'review' | 'selection' | 'done';
  closesAt: string;
  /** The ranking is `rounds[refillKey].result`. */
  proposal: { candidates: string[]; proposed: string[]; approvalDueAt: string } | null;
}

export interface GrantRecord {
  applicationId: string;
  /** Temporal workflow id of the child grant: grant:<program>:<year>:<team>. */
  grantId: string;
  gpus: GpuAllocation[];
  status: 'pending' | 'active' | 'ended';
  startedAt: string | null;
  endedAt: string | null;
  /** End of the currently funded period; the grant runs until the cycle releases it. */
  endsAt: string | null;
  endReason: string | null;
  /** The pool refused or only partly served it (GrantGpusWithheld): who owes what until when. Absent when served. */
  withheld?: { kind: 'refused' | 'partial'; retrying: boolean; until: string | null };
  /** Issue 15: the grant's reports by policy id, scheduled when it started; absent when the policy asks for none. */
  reports?: Record<string, GrantReportRecord>;
  /** The strongest consequence a missing report set off (policy `grantReports.onMissing`); absent when none. */
  sanction?: ReportConsequence;
  /** The report whose late arrival last lifted a throttle or suspension (GrantSanctionLifted); the allocation goes back to normal. */
  liftedBy?: string;
}

/** One report of a grant: when it is due, where it stands, how many of the policy's steps were applied. */
export interface GrantReportRecord {
  dueAt: string;
  status: 'due' | 'submitted' | 'accepted' | 'changes_requested' | 'missed';
  steps: number;
}

export interface ProcurementRecord {
  finalists: string[];
  /** Application id by contract id (the contract itself is in its ProcurementAwarded event). */
  contracts: Record<string, string>;
  /** Finalists whose open-source release was declared (the declaration is in its ModelReleased event). */
  released: string[];
  /** Finalists whose declared release did not include the evaluated model (issue 15); absent when none. */
  mismatched?: string[];
  contractsDueAt: string;
  releaseDueAt: string;
}

export interface NotStartedCycle {
  stage: 'not_started';
}

export interface RunningCycle {
  stage: Exclude<CycleStage, 'not_started'>;
  cycleId: string;
  programSlug: string;
  year: number;
  policy: ProgramPolicy;
  policyHash: string;
  /** The ranking rules version the cycle opened with (RULES_VERSION then); it ranks with it for its whole life. */
  rulesVersion: number;
  lotterySeed: string;
  panel: { reviewers: PanelMember[]; evaluators: PanelMember[] };
  openedAt: string;
  /** Index in policy.stages of the stage being run. */
  stageIndex: number;
  /** A refill's shift, applied to the dates of the next stage entered. */
  pendingShift: string | null;
  deadlines: Partial<Record<DeadlineKind, string>>;
  callClosedAt: string | null;
  applications: Record<string, ApplicationRecord>;
  rounds: Record<string, RoundRecord>;
  currentRound: string | null;
  conflicts: Array<{ scorer: string; applicationId: string }>;
  decision: DecisionRecord | null;
  refill: RefillRecord | null;
  grants: Record<string, GrantRecord>;
  procurement: ProcurementRecord | null;
  /** Escalations raised (their details are in the EscalationRaised events). */
  escalations: Array<{ reason: EscalationReason; subject: string; raisedAt: string; heldDeadline: DeadlineKind | null }>;
  closedAt: string | null;
  /** Number of events applied: a cheap version for optimistic checks and continue-as-new. */
  version: number;
}

export type CycleState = NotStartedCycle | RunningCycle;

export const initialState: CycleState = { stage: 'not_started' };

export function isRunning(state: CycleState): state is RunningCycle {
  return state.stage !== 'not_started';
}

export function grantWorkflowId(programSlug: string, year: number, teamSlug: string): string {
  return `grant:${programSlug}:${year}:${teamSlug}`;
}

export function cycleWorkflowId(programSlug: string, year: number): string {
  return `cycle:${programSlug}:${year}`;
}

/** Application ids whose record passes `keep`, in submission order. */
export function applicationIds(state: RunningCycle, keep: (a: ApplicationRecord) => boolean): string[] {
  return Object.keys(state.applications).filter((id) => keep(state.applications[id]));
}

/** Teams currently in the program (selected and neither withdrawn nor eliminated). */
export function activeTeams(state: RunningCycle): string[] {
  return applicationIds(state, (a) => a.status === 'active');
}
