/**
 * What the API and the worker share about the workflows: task queue, workflow ids, message
 * definitions and the shapes they carry. Importing this file never pulls in workflow code.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { PERSON_COMMAND_TYPES, type CycleCommand, type CycleEventType, type CycleStage, type GpuAllocation, type PersonCommandType, type WithheldGpus } from '@concentra/domain';

export const TASK_QUEUE = 'program-cycles';

/**
 * A cycle's workflow task timeout. Its tasks take tens of milliseconds, but a task retried after a
 * lost worker replays the whole run (up to 2 MB of history), and on a loaded machine the bench saw
 * one task in about 1,500 reach the 10 s default: a replay that never fits its timeout is a wedge.
 * Continue-as-new keeps it; next year's cycle is started with it.
 */
export const CYCLE_WORKFLOW_TASK_TIMEOUT = '1 minute';

export function cycleWorkflowId(programSlug: string, year: number): string {
  return `cycle:${programSlug}:${year}`;
}

export function grantWorkflowId(programSlug: string, year: number, teamSlug: string): string {
  return `grant:${programSlug}:${year}:${teamSlug}`;
}

/** Search attributes the cycle upserts so operators can find cycles by program, year and stage. */
export const SEARCH_ATTRIBUTES = {
  program: 'ConcentraProgram',
  year: 'ConcentraYear',
  stage: 'ConcentraStage',
} as const;

export interface Actor {
  role: string;
  subject: string;
  organisationId?: string;
}

export interface PanelMember {
  subject: string;
  organisationId?: string;
}

export interface CycleInput {
  programSlug: string;
  year: number;
  /** The policy document the cycle runs on for its whole life, and its hash. */
  policy: Record<string, unknown>;
  policyHash: string;
  startedBy: Actor;
  /** Who reviews and who evaluates; scorers outside the panel are refused when a panel is named. */
  panel?: { reviewers: PanelMember[]; evaluators: PanelMember[] };
  /** Published with the call so nobody can choose it after seeing the scores; defaults to the cycle id. */
  lotterySeed?: string;
  /** Operational knobs, independent of the policy (not part of its hash); production leaves them unset. */
  tuning?: CycleTuning;
}

/**
 * How the workflows pace themselves, not what the program decides: tests use them to force a
 * continue-as-new after a few events, or to meter GPU use less often over a simulated year.
 */
export interface CycleTuning {
  /** Continue-as-new after this many recorded events in one run (default 1000). */
  eventsPerRun?: number;
  /** How often each grant pulls usage from the scheduler, as a Temporal duration (default '1 day'). */
  grantMeteringInterval?: string;
}

export interface CycleStatus {
  cycleId: string;
  stage: CycleStage | string;
  /** The next deadline the workflow is waiting on, if any. */
  nextDeadline: { kind: string; at: string } | null;
  eventsRecorded: number;
  /** How much is owed, and the earliest due date: the list itself is a read (`GET /v1/cycles/:id/owed`). */
  owed: { count: number; nextDueAt: string | null };
}

/**
 * The failure type a cycle's validator answers while it finishes one run to continue in the next
 * (a moment: the commands it accepted are being applied). Nothing was applied; send it again: the
 * API does so by itself before it answers 503 with Retry-After.
 */
export const CYCLE_BUSY = 'CycleBusy';

/** What every accepted command answers: the facts it caused and where the cycle stands now. */
export interface CommandResult {
  events: CycleEventType[];
  stage: CycleStage;
  version: number;
}

/** A small status: the state itself is read from the events (it grows with the call; a Query must not). */
export const cycleStatusQuery = defineQuery<CycleStatus>('cycleStatus');

/** Commands people give a running cycle, one Update each: the domain's list (the workflow's own commands are not among them). */
export const PERSON_COMMANDS = PERSON_COMMAND_TYPES;
export type { PersonCommandType };
export type PersonCommand = Extract<CycleCommand, { type: PersonCommandType }>;

/** One Update per command type, named after it, each with a validator that runs the domain's decide. */
export const commandUpdates = Object.fromEntries(
  PERSON_COMMANDS.map((type) => [type, defineUpdate<CommandResult, [PersonCommand]>(type)]),
) as { [K in PersonCommandType]: ReturnType<typeof defineUpdate<CommandResult, [Extract<CycleCommand, { type: K }>]>> };

// Grants: the cycle and its grant children talk by signals, so children survive the cycle's continue-as-new.
export interface GrantInput {
  cycleId: string;
  grantId: string;
  applicationId: string;
  organisationId: string;
  gpus: GpuAllocation[];
  /** End of the funded period; the grant keeps its GPUs until the cycle releases it. */
  endsAt: string | null;
  /** How often usage is metered, as a Temporal duration (default '1 day'); see CycleTuning. */
  meteringInterval?: string;
  /** Policy `onRefusal: retry_until <retryFor>`: how long a refused grant keeps asking (absent: it gives up at once). */
  retryFor?: string;
  /** Policy `acceptPartialAtLeast`: serve part if at least this fraction of the first alternative. */
  acceptPartialAtLeast?: number;
}

export interface GrantCarry {
  allocationId: string | null;
  /** The GPUs held now (null before provisioning); absent in carries from before reallocation existed. */
  served?: GpuShare | null;
  reallocations?: number;
  /** GPUs taken over from teams that left, on top of the team's amount. */
  received?: number;
  /** GPU limit changes (`#gpus-<n>`) and top-ups (`#topup-<n>`); absent in older carries. */
  gpuChanges?: number;
  topUps?: number;
  /** GPUs still owed to a partly served grant, in the served type. */
  shortfall?: number;
  extensions: number;
  meterings: number;
  changes: number;
  releaseReason: string | null;
  endsAt: string | null;
  gpus: GpuAllocation[];
  /** The mode a missing report's consequence put the allocation in (issue 15); absent when none. */
  sanction?: 'throttled' | 'suspended' | null;
  /** How many sanctions a late report lifted (`grant-sanction-lift`); absent when none. */
  lifts?: number;
}

export type GrantReport =
  | { kind: 'started'; applicationId: string; grantId: string; allocationId: string }
  /** The pool refused the grant, or served part, or refused a new limit: the cycle records and escalates it. */
  | { kind: 'withheld'; applicationId: string; grantId: string; withheld: GpuWithheld }
  /** A partly served grant was topped up: it holds all it asked for. */
  | { kind: 'served'; applicationId: string; grantId: string; served: number }
  /** The ledger refused a change for good (non-retryable): the grant went on unchanged; the cycle records and escalates it. */
  | { kind: 'refused_change'; applicationId: string; grantId: string; change: string; code: string; message: string }
  | {
      kind: 'ended';
      applicationId: string;
      grantId: string;
      reason: string;
      gpuHoursUsed: number | null;
      /** What the release gave back, and whether the pool policy offers it to the remaining grants. */
      freed?: GpuShare | null;
      reallocation?: 'to_pool' | 'to_remaining_grants';
      /** Set by the cycle for a grant that closed without reporting: the cycle gives back its GPUs. */
      reclaim?: boolean;
    };

/** What the pool withheld from a grant (compact: the ledger's refusal, its rows trimmed); the domain's shape. */
export type GpuWithheld = WithheldGpus;

/** GPUs of one capacity (site, type) moving between grants. */
export interface GpuShare {
  capacityId: string;
  type: string;
  count: number;
}

export const grantReportSignal = defineSignal<[GrantReport]>('grantReport');
export const releaseGrantSignal = defineSignal<[{ reason: string }]>('releaseGrant');
export const extendGrantSignal = defineSignal<[{ until: string; gpus: GpuAllocation[] }]>('extendGrant');
/** Extra GPUs freed by another grant of the cycle, offered to this one (pool policy `to_remaining_grants`). */
export const reallocateGpusSignal = defineSignal<[{ from: string; share: GpuShare }]>('reallocateGpus');
/** The team's GPU amount changed (program manager's amount, an evaluation round's): a new limit, or a new request while waiting. */
export const grantGpusSignal = defineSignal<[{ gpus: GpuAllocation[] }]>('grantGpus');
/** Another grant of the cycle gave GPUs back: a grant waiting for capacity asks again. */
export const capacityFreedSignal = defineSignal<[{ from: string; share: GpuShare }]>('capacityFreed');
/** Asks nothing: a signal that finds no running grant tells the cycle the grant has closed. */
export const grantPingSignal = defineSignal('grantPing');
/**
 * A missing report's consequence (issue 15, policy `grantReports.onMissing`): the grant's allocation
 * goes to this mode in the ledger; `normal` (with the report that lifted it, `grantReports.liftSanction`) restores it.
 */
export const grantSanctionSignal = defineSignal<[{ mode: 'throttled' | 'suspended' | 'normal'; reportId?: string }]>('grantSanction');
export const grantStatusQuery = defineQuery<{ allocationId: string | null; endsAt: string | null; releaseReason: string | null; gpuHoursUsed: number }>('grantStatus');
