/**
 * Everything a cycle needs to decide the next command, rebuilt from its events by `evolve`.
 * Plain JSON so the workflow can carry it across continue-as-new.
 */
import type { GpuAllocation, ProgramPolicy } from '../policy/schema';
import type { RankResult } from '../scoring/rank';
import type { Verdict } from '../scoring/weighted';
import type { Organisation, PanelMember } from './commands';
import type { DeadlineKind } from './deadlines';
import type { Approval, EscalationRaised } from './events';

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

export interface ApplicationRecord {
  applicationId: string;
  title: string;
  summary: string | null;
  lead: Organisation;
  members: Organisation[];
  submittedAt: string;
  submittedBy: string;
  /** Set when the application answered a refill call. */
  refillKey: string | null;
  status: ApplicationStatus;
}

export interface ScoreSheetRecord {
  scoreId: string;
  applicationId: string;
  scorer: string;
  scores: Record<string, number>;
  verdicts: Record<string, Verdict>;
  submittedAt: string;
}

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
  sheets: Record<string, ScoreSheetRecord>;
  /** Evaluation rounds only. */
  submissionDueAt: string | null;
  submissions: Record<string, { uri: string; sha256: string; submittedAt: string }>;
  submissionsClosed: boolean;
  zeroed: string[];
  closed: boolean;
  /** The ranking the round closed with (review rounds). */
  result: RankResult | null;
}

export interface ObjectionRecord {
  status: 'filed' | 'waived' | 'upheld' | 'dismissed' | 'moot';
  grounds: string | null;
  at: string;
}

export interface DecisionOutcome {
  kept: string[];
  dropped: string[];
  approval: Approval;
  overridden: boolean;
  rationale: string | null;
  decidedAt: string;
}

/** A selection or narrowing from proposal to final (after any objection window). */
export interface DecisionRecord {
  key: string;
  kind: 'selection' | 'narrowing';
  stageIndex: number;
  round: number;
  roundKey: string;
  result: RankResult;
  candidates: string[];
  proposed: string[];
  plannedKeep: number;
  minKeep: number;
  approvalDueAt: string;
  outcome: DecisionOutcome | null;
  objectionWindowEndsAt: string | null;
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
  proposal: { result: RankResult; candidates: string[]; proposed: string[]; approvalDueAt: string } | null;
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
}

export interface ProcurementRecord {
  finalists: string[];
  contracts: Record<string, { contractId: string; applicationId: string; agency: string; model: string; budgetLine: string }>;
  releases: Record<string, { repository: string; licence: string; artifacts: Array<{ name: string; sha256: string }> }>;
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
  escalations: Array<EscalationRaised['data']>;
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

/** Teams currently in the program (selected and neither withdrawn nor eliminated). */
export function activeTeams(state: RunningCycle): string[] {
  return Object.values(state.applications)
    .filter((a) => a.status === 'active')
    .map((a) => a.applicationId);
}
