import { Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowNotFoundError } from '@temporalio/client';
import { DomainError, canSeeTeamScores } from '@concentra/domain';
import { EventStore, ReadModels, cycleStateAsOf, type CycleStateAsOf, type CycleView } from '@concentra/persistence';
import { AppEnvironment } from '@concentra/config';
import { CYCLE_WORKFLOW_TASK_TIMEOUT, SEARCH_ATTRIBUTES, cycleStatusQuery, cycleWorkflowId, type CycleInput, type CycleStatus } from '@concentra/workflows/contracts';
import type { Principal } from '@concentra/auth';
import type { StartCycle } from '../programs/programs.schemas';
import { ProgramsService } from '../programs/programs.service';

export interface CycleReadout {
  id: string;
  /** From the projection: what the event store says, durable and rebuildable. */
  recorded: CycleView | null;
  /** From the workflow's Query: what the running cycle says now (null once it is gone). */
  live: CycleStatus | null;
  /** Why `live` is null while the workflow exists (its worker failing, for example). */
  liveError?: string;
}

@Injectable()
export class CyclesService {
  constructor(
    @Inject(Client) private readonly temporal: Client,
    @Inject(ProgramsService) private readonly programs: ProgramsService,
    @Inject(ReadModels) private readonly reads: ReadModels,
    @Inject(EventStore) private readonly events: EventStore,
    @Inject(AppEnvironment) private readonly env: AppEnvironment,
  ) {}

  /** Starts `cycle:<program>:<year>`; a second start of the same year is refused by Temporal (409). */
  async start(programSlug: string, body: StartCycle, actor: Principal): Promise<{ id: string; runId: string }> {
    const { year } = body;
    const program = await this.programs.get(programSlug);
    const workflowId = cycleWorkflowId(programSlug, year);
    const input: CycleInput = {
      programSlug,
      year,
      policy: program.policy,
      policyHash: program.policyHash,
      startedBy: { role: actor.role, subject: actor.sub, organisationId: actor.org },
      ...(body.panel ? { panel: body.panel } : {}),
      ...(body.lotterySeed ? { lotterySeed: body.lotterySeed } : {}),
    };
    const handle = await this.temporal.workflow.start('programCycle', {
      workflowId,
      taskQueue: this.env.TEMPORAL_TASK_QUEUE,
      args: [input],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      workflowTaskTimeout: CYCLE_WORKFLOW_TASK_TIMEOUT,
      searchAttributes: {
        [SEARCH_ATTRIBUTES.program]: [programSlug],
        [SEARCH_ATTRIBUTES.year]: [year],
        [SEARCH_ATTRIBUTES.stage]: ['call'],
      },
    });
    return { id: workflowId, runId: handle.firstExecutionRunId };
  }

  /** The program's cycles by year (a 404 for no such program). */
  async ofProgram(slug: string): Promise<CycleView[]> {
    await this.programs.get(slug);
    return this.reads.cyclesOf(slug);
  }

  async get(id: string): Promise<CycleReadout> {
    const recorded = (await this.reads.cycle(id)) ?? null;
    let live: CycleStatus | null = null;
    let liveError: string | undefined;
    let liveFailure: unknown;
    try {
      live = await this.temporal.workflow.getHandle(id).query(cycleStatusQuery);
    } catch (error) {
      // The recorded state still answers when the workflow cannot (gone, its worker failing, Temporal down).
      if (!(error instanceof WorkflowNotFoundError)) {
        liveError = `the workflow did not answer: ${(error as Error).message}`;
        liveFailure = error;
      }
    }
    if (!recorded && !live) {
      // Nothing recorded and no answer: the failure itself (Temporal down is a 503 in the problem filter).
      if (liveFailure) throw liveFailure;
      throw new DomainError('not_found', `no cycle '${id}'`, 'id');
    }
    return { id, recorded, live, ...(liveError ? { liveError } : {}) };
  }

  /** State as of a moment, from the events alone. It holds per-team scores: managers and auditors only. */
  async asOf(id: string, asOf: string, reader: Principal): Promise<CycleStateAsOf> {
    if (!canSeeTeamScores(reader.role)) {
      throw new DomainError('forbidden', 'the state as of a date holds per-team scores: program managers and auditors only', 'asOf');
    }
    const state = await cycleStateAsOf(this.events, id, asOf);
    if (!state.exists && !(await this.reads.cycle(id))) throw new DomainError('not_found', `no cycle '${id}'`, 'id');
    return state;
  }
}
