/**
 * Drives one whole cycle through the Temporal client, the way people would: it starts the cycle,
 * applies during the call, and then answers whatever the cycle says is owed (reviews, models,
 * evaluation scores, approvals, objections, contracts, releases) at a random moment before its
 * deadline, leaving some to lapse so the policy's deadline rules fire. Every command is an Update
 * with a stable update id, retried through outages of the worker, Temporal or PostgreSQL.
 */
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import type { Actor, Owed } from '@concentra/domain';
import { CycleDetailsReads, type OwedView } from '@concentra/persistence';
import {
  CYCLE_BUSY,
  SEARCH_ATTRIBUTES,
  commandUpdates,
  cycleStatusQuery,
  cycleWorkflowId,
  type CycleInput,
  type CycleStatus,
  type PersonCommand,
  type PersonCommandType,
} from '@concentra/workflows/contracts';
import { CHAOS_APPLICATIONS, CHAOS_PANEL, chaosPolicy } from './policy';
import type { Rng } from './rng';
import { HarnessError, retrying, type Stopper } from './wait';

export interface DriverOptions {
  client: Client;
  /** The harness's own connection to the run's database: who owes what comes from the projection (as GET /owed answers). */
  db: DataSource;
  taskQueue: string;
  programSlug: string;
  year: number;
  rng: Rng;
  stopper: Stopper;
  /** The driver gives up on the cycle after this long (then the checker says why it did not close). */
  timeoutMs: number;
  /** How often grants meter usage (a Temporal duration), so activities run throughout the grant period. */
  meteringInterval?: string;
  log: (line: string) => void;
}

export interface CommandOutcome {
  at: string;
  type: PersonCommandType;
  updateId: string;
  outcome: 'accepted' | 'refused' | 'abandoned' | 'gone';
  detail?: string;
  attempts: number;
}

export interface DriveResult {
  cycleId: string;
  started: boolean;
  /** The workflow's status when the driver stopped (COMPLETED once the cycle closed). */
  workflowStatus: string | null;
  result: unknown;
  /** Why the driver stopped without a completed workflow. */
  stoppedBecause: 'completed' | 'closed_otherwise' | 'timeout' | 'wedged' | 'harness_stopped' | null;
  lastStatus: CycleStatus | null;
  lastQueryError: string | null;
  /** When the driver stopped because the workflow task kept failing: its message. */
  wedgedBy: string | null;
  commands: CommandOutcome[];
  durationMs: number;
}

/** Errors that say nothing about the command itself (an outage, a timeout): try again. */
export function isTransient(error: unknown): boolean {
  if (error instanceof HarnessError) return false;
  // A cycle between two runs took nothing: the same Update again lands in the next run.
  if (error instanceof WorkflowUpdateFailedError) return error.cause instanceof ApplicationFailure && error.cause.type === CYCLE_BUSY;
  if (error instanceof WorkflowNotFoundError || error instanceof WorkflowFailedError) return false;
  if (error instanceof WorkflowExecutionAlreadyStartedError) return false;
  return !isClosedWorkflowError(error);
}

function isClosedWorkflowError(error: unknown): boolean {
  return error instanceof Error && /workflow execution already completed|workflow.*(is|was) (closed|completed)/i.test(error.message);
}

const applicant = (org: string): Actor => ({ role: 'applicant', subject: `user@${org}`, organisationId: org });
const PM: Actor = { role: 'program_manager', subject: 'pm-chaos' };
const rankOf = (applicationId: string) => Number(applicationId.replace(/\D/g, '')) || 5;

export class CycleDriver {
  readonly cycleId: string;
  private readonly handle: WorkflowHandle;
  private readonly plans = new Map<string, { at: number; skip: boolean; choice: number }>();
  private readonly done = new Set<string>();
  private readonly commands: CommandOutcome[] = [];
  private lastStatus: CycleStatus | null = null;
  private lastQueryError: string | null = null;
  private wedgedBy: string | null = null;

  constructor(private readonly o: DriverOptions) {
    this.cycleId = cycleWorkflowId(o.programSlug, o.year);
    this.handle = o.client.workflow.getHandle(this.cycleId);
  }

  async drive(): Promise<DriveResult> {
    const began = Date.now();
    const finish = (partial: Pick<DriveResult, 'started' | 'workflowStatus' | 'result' | 'stoppedBecause'>): DriveResult => ({
      cycleId: this.cycleId,
      ...partial,
      lastStatus: this.lastStatus,
      lastQueryError: this.lastQueryError,
      wedgedBy: this.wedgedBy,
      commands: this.commands,
      durationMs: Date.now() - began,
    });
    await this.start();
    const deadline = began + this.o.timeoutMs;
    let failingSince: number | null = null;
    let lastHistoryLook = 0;
    for (;;) {
      if (this.o.stopper.stopped) return finish({ started: true, workflowStatus: null, result: null, stoppedBecause: 'harness_stopped' });
      const status = await this.workflowStatus();
      if (status && status !== 'RUNNING') {
        const result = status === 'COMPLETED' ? await this.result() : null;
        this.o.log(`${this.cycleId}: workflow ${status}${result ? ` ${JSON.stringify(result)}` : ''}`);
        return finish({ started: true, workflowStatus: status, result, stoppedBecause: status === 'COMPLETED' ? 'completed' : 'closed_otherwise' });
      }
      if (Date.now() > deadline) return finish({ started: true, workflowStatus: status, result: null, stoppedBecause: 'timeout' });
      const live = await this.status();
      if (live) {
        // Answering again: a task that failed while a worker was down is no wedge to report.
        failingSince = null;
        this.wedgedBy = null;
        const owed = live.stage === 'call' ? [] : await this.owed();
        if (owed) await this.act(live, owed);
      } else if (Date.now() - lastHistoryLook > 10_000) {
        // No answer: is the workflow's task failing (a wedge), or is something just down?
        lastHistoryLook = Date.now();
        const failure = await this.failingTask();
        if (!failure) {
          failingSince = null;
          this.wedgedBy = null;
        }
        else {
          failingSince ??= Date.now();
          this.wedgedBy = failure;
          if (Date.now() - failingSince > 60_000) {
            this.o.log(`${this.cycleId}: wedged (its workflow task has failed for 60 s: ${failure.slice(0, 200)}); the driver stops`);
            return finish({ started: true, workflowStatus: status, result: null, stoppedBecause: 'wedged' });
          }
        }
      }
      await this.o.stopper.pause(400);
    }
  }

  private async start(): Promise<void> {
    const { policy, hash } = chaosPolicy(this.o.programSlug);
    const input: CycleInput = {
      programSlug: this.o.programSlug,
      year: this.o.year,
      policy: policy as unknown as Record<string, unknown>,
      policyHash: hash,
      startedBy: { role: 'program_manager', subject: PM.subject },
      panel: CHAOS_PANEL,
      lotterySeed: `chaos-${this.o.rng.seed}`,
      ...(this.o.meteringInterval ? { tuning: { grantMeteringInterval: this.o.meteringInterval } } : {}),
    };
    await retrying(
      `starting ${this.cycleId}`,
      async () => {
        try {
          await this.o.client.workflow.start('programCycle', {
            workflowId: this.cycleId,
            taskQueue: this.o.taskQueue,
            args: [input],
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
            searchAttributes: { [SEARCH_ATTRIBUTES.program]: [this.o.programSlug], [SEARCH_ATTRIBUTES.year]: [this.o.year], [SEARCH_ATTRIBUTES.stage]: ['call'] },
          });
        } catch (error) {
          // A retry after a start whose answer was lost in an outage.
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
        }
      },
      { timeoutMs: 120_000, transient: isTransient, stopper: this.o.stopper },
    );
    this.o.log(`${this.cycleId}: started on task queue ${this.o.taskQueue}`);
  }

  private async workflowStatus(): Promise<string | null> {
    try {
      const d = await this.o.client.withDeadline(Date.now() + 5_000, () => this.handle.describe());
      return d.status.name;
    } catch {
      return null; // Temporal is down or slow: ask again on the next round
    }
  }

  private async result(): Promise<unknown> {
    try {
      return await retrying(`reading the result of ${this.cycleId}`, () => this.o.client.withDeadline(Date.now() + 10_000, () => this.handle.result()), {
        timeoutMs: 60_000,
        transient: isTransient,
        stopper: this.o.stopper,
      });
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  private async status(): Promise<CycleStatus | null> {
    try {
      const status = await this.o.client.withDeadline(Date.now() + 5_000, () => this.handle.query(cycleStatusQuery));
      this.lastStatus = status;
      this.lastQueryError = null;
      return status;
    } catch (error) {
      this.lastQueryError = (error as Error).message;
      return null;
    }
  }

  /** The message of the latest workflow task failure, when no workflow task completed after it. */
  private async failingTask(): Promise<string | null> {
    try {
      const history = await this.o.client.withDeadline(Date.now() + 10_000, () => this.handle.fetchHistory());
      const tasks = (history.events ?? []).filter((e) => e.workflowTaskCompletedEventAttributes || e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes);
      const last = tasks[tasks.length - 1];
      if (last?.workflowTaskFailedEventAttributes) return last.workflowTaskFailedEventAttributes.failure?.message ?? 'workflow task failed';
      return last?.workflowTaskTimedOutEventAttributes ? 'workflow task timed out (no worker completed it)' : null;
    } catch {
      return null;
    }
  }

  /** Who owes what, from the read model the worker's appends keep (null while PostgreSQL is away). */
  private async owed(): Promise<OwedView[] | null> {
    try {
      return await new CycleDetailsReads(this.o.db).owed(this.cycleId);
    } catch {
      return null;
    }
  }

  /** Applications during the call; then every owed item at its planned moment (or never, for some). */
  private async act(status: CycleStatus, owed: OwedView[]): Promise<void> {
    if (status.stage === 'call') {
      for (let k = 1; k <= CHAOS_APPLICATIONS; k++) {
        const id = `t${k}`;
        await this.once(`application:${id}`, 'SubmitApplication', {
          type: 'SubmitApplication',
          actor: applicant(`org-${id}`),
          data: { applicationId: id, title: `Team ${id} foundation model`, lead: { organisationId: `org-${id}`, name: `Org ${id}`, type: 'company' }, members: [] },
        });
      }
      return;
    }
    const now = Date.now();
    for (const item of owed) {
      // The due date is part of the key: an item held after an escalation (no date) is planned again, and answered.
      const key = [item.what, item.applicationId ?? '', item.who.subject ?? item.who.organisationId ?? item.who.role, item.deadline ?? '', item.dueAt ?? 'held'].join(':');
      if (this.done.has(key)) continue;
      let plan = this.plans.get(key);
      if (!plan) {
        // Somewhere before the deadline (so reminders go out first), but within 15 s: an objection window is a day long.
        const window = Math.min(item.dueAt ? Math.max(0, Date.parse(item.dueAt) - now) : 4_000, 15_000);
        plan = { at: now + this.o.rng.between(0, 0.85 * window), skip: !!item.dueAt && this.o.rng.chance(SKIP[item.what] ?? 0), choice: this.o.rng.next() };
        this.plans.set(key, plan);
      }
      if (plan.skip || now < plan.at) continue;
      const command = this.commandFor(item, plan.choice);
      if (!command) {
        this.done.add(key);
        continue;
      }
      await this.once(key, command.type, command);
    }
  }

  private commandFor(item: OwedView, choice: number): PersonCommand | null {
    const app = item.applicationId ?? '';
    const k = rankOf(app);
    const scorer: Actor = { role: item.who.role, subject: item.who.subject ?? 'unknown', ...(item.who.organisationId ? { organisationId: item.who.organisationId } : {}) };
    switch (item.what) {
      case 'review':
        return {
          type: 'SubmitReview',
          actor: scorer,
          data: { reviewId: `rev-${item.deadline}-${app}-${scorer.subject}`, applicationId: app, scores: { technical: 10 - k, team: 10 - k, impact: 10 - k }, conflictOfInterest: { declared: false } },
        };
      case 'model_submission':
        return { type: 'SubmitModel', actor: applicant(`org-${app}`), data: { applicationId: app, round: 1, artifact: { uri: `s3://models/${app}/1`, sha256: 'a'.repeat(64) } } };
      case 'evaluation_scores':
        return {
          type: 'SubmitEvaluationScores',
          actor: scorer,
          data: {
            scoreSetId: `eval-1-${app}-${scorer.subject}`,
            applicationId: app,
            round: 1,
            scores: { benchmarks: 100 - 10 * k, experts: 10 - k, users: 10 - k },
            verdicts: { safety: 'pass' },
            conflictOfInterest: { declared: false },
          },
        };
      case 'selection_approval':
        return { type: 'ApproveSelection', actor: PM, data: { rationale: 'as ranked' } };
      case 'narrowing_approval':
        return { type: 'ApproveNarrowing', actor: PM, data: { round: 1, rationale: 'as ranked' } };
      case 'objection_response':
        return choice < 0.6
          ? { type: 'WaiveObjection', actor: applicant(`org-${app}`), data: { applicationId: app } }
          : { type: 'ObjectToDecision', actor: applicant(`org-${app}`), data: { applicationId: app, grounds: 'the evaluation missed our latest checkpoint' } };
      case 'objection_decision':
        return { type: 'DecideObjection', actor: PM, data: { applicationId: app, upheld: false, reasoning: 'the checkpoint was submitted after the deadline' } };
      case 'procurement_contract':
        return {
          type: 'RecordProcurementContract',
          actor: PM,
          data: {
            contractId: `PC-${this.o.programSlug}-${app}`,
            applicationId: app,
            agency: 'Ministry of Digital Affairs',
            model: `${app}-base`,
            term: { start: '2028-01-01T00:00:00Z', end: '2030-12-31T00:00:00Z' },
            amount: { value: 2_500_000, currency: 'EUR' },
            budgetLine: 'AI-CHAOS',
          },
        };
      case 'release_declaration':
        return {
          type: 'RecordReleaseDeclaration',
          actor: applicant(`org-${app}`),
          data: { applicationId: app, repository: `https://git.example.org/${app}/base`, licence: 'Apache-2.0', artifacts: [{ name: 'model.safetensors', sha256: 'b'.repeat(64) }] },
        };
      default:
        return null; // refill selection: not in the chaos policy; its deadline decides
    }
  }

  /** Sends one command once: the update id makes a retry after an outage the same Update. */
  private async once(key: string, type: PersonCommandType, command: PersonCommand): Promise<void> {
    if (this.done.has(key)) return;
    const updateId = `${this.cycleId}/${key}`;
    let attempts = 0;
    const record = (outcome: CommandOutcome['outcome'], detail?: string) => {
      this.done.add(key);
      this.commands.push({ at: new Date().toISOString(), type, updateId, outcome, attempts, ...(detail ? { detail } : {}) });
    };
    try {
      await retrying(
        `sending ${type} to ${this.cycleId}`,
        () => {
          attempts += 1;
          // Every command Update takes the command itself (contracts.ts); the update's name is its type.
          const update: string = commandUpdates[type].name;
          return this.o.client.withDeadline(Date.now() + 20_000, () => this.handle.executeUpdate(update, { args: [command], updateId }));
        },
        { timeoutMs: 90_000, transient: isTransient, stopper: this.o.stopper },
      );
      record('accepted');
    } catch (error) {
      if (error instanceof WorkflowUpdateFailedError) record('refused', (error.cause as Error | undefined)?.message ?? error.message);
      else if (error instanceof WorkflowNotFoundError || isClosedWorkflowError(error)) record('gone', (error as Error).message);
      else if (error instanceof HarnessError && !this.o.stopper.stopped) record('abandoned', error.message);
      else throw error;
    }
  }
}

/** How often an owed item is left to its deadline, so the policy's rules for missing inputs run too. */
const SKIP: Partial<Record<Owed['what'], number>> = {
  review: 0.15,
  model_submission: 0.1,
  evaluation_scores: 0.1,
  selection_approval: 0.35,
  narrowing_approval: 0.35,
  objection_decision: 0.3,
  refill_selection: 1,
};
