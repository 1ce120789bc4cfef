import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  isCancellation,
  makeContinueAsNewFunc,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  DomainError,
  addDuration,
  decide,
  evolve,
  grantsToRelease,
  grantsToStart,
  initialState,
  isCycleOver,
  nextDeadline,
  nextReminderAt,
  owed,
  remindersDue,
  shareFreedGpus,
  type CycleCommand,
  type CycleEvent,
  type CycleState,
  type ProgramPolicy,
} from '@concentra/domain';
import {
  PERSON_COMMANDS,
  SEARCH_ATTRIBUTES,
  commandUpdates,
  cycleStateQuery,
  cycleStatusQuery,
  cycleWorkflowId,
  extendGrantSignal,
  grantReportSignal,
  reallocateGpusSignal,
  releaseGrantSignal,
  type CommandResult,
  type CycleInput,
  type GrantReport,
  type PersonCommand,
} from './contracts';
import { computeGrant } from './compute-grant.workflow';
import { EventRecorder } from './event-recorder';
import { notifications } from './notify';

export interface CycleOutcome {
  stage: string;
  eventsRecorded: number;
  nextCycleId: string | null;
}

/** What one run hands the next across continue-as-new. */
export interface CycleCarry {
  state: CycleState;
  sequence: number;
  lastReminderCheck: string;
  startedGrants: string[];
  releaseSent: string[];
  extensionSent: Record<string, string | null>;
  inbox: GrantReport[];
}

const SYSTEM = { role: 'system' as const, subject: 'workflow' };
/** Histories stay far below Temporal's limits: a new run after this many recorded decisions. */
const EVENTS_PER_RUN = 1_000;

/**
 * One program year, `cycle:<program>:<year>`, as an interpreter of the domain's cycle decider:
 * people's commands arrive as Updates (validated by `decide`), deadlines are durable timers that
 * send `DeadlinePassed`, and every decision is recorded as an event before the state moves on.
 * Each awardee's grant runs as a child workflow; the cycle starts, extends and releases them.
 */
export async function programCycle(input: CycleInput, carry?: CycleCarry): Promise<CycleOutcome> {
  const cycleId = workflowInfo().workflowId;
  let state: CycleState = carry?.state ?? initialState;
  const recorder = new EventRecorder(cycleId, carry?.sequence ?? 0);
  const recordedAtStart = recorder.recorded;
  let lastReminderCheck = carry?.lastReminderCheck ?? nowIso();
  const startedGrants = new Set(carry?.startedGrants ?? []);
  const releaseSent = new Set(carry?.releaseSent ?? []);
  const extensionSent: Record<string, string | null> = { ...carry?.extensionSent };
  const inbox: GrantReport[] = [...(carry?.inbox ?? [])];

  // Commands are applied one at a time: each decides on the state the previous one left.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };

  const apply = (command: CycleCommand): Promise<CycleEvent[]> =>
    serially(async () => {
      const events = decideOrRefuse(command, state);
      if (events.length === 0) return events;
      let next = state;
      const stages = events.map((event) => (next = evolve(next, event)).stage);
      await recorder.record(events, (_, i) => ({ policyHash: input.policyHash, actor: command.actor, causationId: command.type, stage: stages[i] }));
      state = next;
      showStage(state.stage);
      await notifyEscalations(cycleId, events, recorder.recorded);
      return events;
    });

  setHandler(cycleStatusQuery, () => {
    const deadline = nextDeadline(state);
    return { cycleId, stage: state.stage, nextDeadline: deadline && { kind: deadline.deadline, at: deadline.at }, eventsRecorded: recorder.recorded, owed: owed(state) };
  });
  setHandler(cycleStateQuery, () => state);
  for (const type of PERSON_COMMANDS) {
    setHandler(
      commandUpdates[type],
      async (command: PersonCommand): Promise<CommandResult> => {
        const events = await apply(command);
        return { events: events.map((e) => e.type), stage: state.stage, version: 'version' in state ? state.version : 0 };
      },
      // A late, duplicate or invalid command is rejected here, before it enters the history.
      { validator: (command: PersonCommand) => void decideOrRefuse(command, state) },
    );
  }
  setHandler(grantReportSignal, (report) => void inbox.push(report));

  try {
    if (state.stage === 'not_started') await apply(openCall(input, cycleId));
    while (!isCycleOver(state)) {
      await drainInbox();
      await reconcileGrants();
      if (isCycleOver(state)) break;
      if (workflowInfo().continueAsNewSuggested || recorder.recorded - recordedAtStart >= (input.tuning?.eventsPerRun ?? EVENTS_PER_RUN)) {
        await condition(allHandlersFinished);
        await queue;
        return await continueAsNew<typeof programCycle>(input, {
          state, sequence: recorder.recorded, lastReminderCheck, startedGrants: [...startedGrants],
          releaseSent: [...releaseSent], extensionSent, inbox,
        });
      }
      const version = versionOf(state);
      const wakeAt = earliestOf(nextDeadline(state)?.at, nextReminderAt(state, lastReminderCheck));
      const changed = () => versionOf(state) !== version || inbox.length > 0;
      if (!wakeAt) await condition(changed);
      else if (!(await condition(changed, Math.max(1, Date.parse(wakeAt) - Date.now())))) await onTimer();
    }
    await condition(allHandlersFinished);
    return { stage: state.stage, eventsRecorded: recorder.recorded, nextCycleId: await scheduleNextCycle(input, state) };
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Cancelled from outside (an operator, not the API's CancelCycle): record it and give back
    // every GPU before the cancellation takes effect.
    await CancellationScope.nonCancellable(async () => {
      if (state.stage !== 'cancelled' && state.stage !== 'closed' && state.stage !== 'not_started') {
        await apply({ type: 'CancelCycle', actor: SYSTEM, data: { reason: 'workflow cancelled by an operator' } });
      }
      while (!isCycleOver(state)) {
        await drainInbox();
        await reconcileGrants();
        if (!isCycleOver(state)) await condition(() => inbox.length > 0);
      }
    });
    throw error;
  }

  async function onTimer(): Promise<void> {
    const now = nowIso();
    for (const reminder of remindersDue(state, now, lastReminderCheck)) {
      await notifications.enqueueNotification({
        key: reminder.key,
        cycleId,
        kind: 'reminder',
        recipient: reminder.recipient,
        subject: `Reminder: due ${reminder.dueAt} (${reminder.deadline.replace(/_/g, ' ')})`,
        body: { deadline: reminder.deadline, dueAt: reminder.dueAt, items: reminder.items },
        dueAt: reminder.dueAt,
      });
    }
    lastReminderCheck = now;
    const deadline = nextDeadline(state);
    if (deadline && Date.parse(deadline.at) <= Date.now()) {
      await apply({ type: 'DeadlinePassed', actor: SYSTEM, data: { deadline: deadline.deadline, at: deadline.at } });
    }
  }

  async function drainInbox(): Promise<void> {
    while (inbox.length > 0) {
      const report = inbox[0];
      if (report.kind === 'started') {
        await applyIfStillValid({ type: 'RecordGrantStarted', actor: SYSTEM, data: { applicationId: report.applicationId, grantId: report.grantId, allocationId: report.allocationId } });
      } else {
        await applyIfStillValid({
          type: 'RecordGrantEnded',
          actor: SYSTEM,
          data: { applicationId: report.applicationId, grantId: report.grantId, reason: report.reason, ...(report.gpuHoursUsed === null ? {} : { gpuHoursUsed: report.gpuHoursUsed }) },
        });
        await offerFreedGpus(report);
      }
      inbox.shift();
    }
  }

  /**
   * When the pool policy says freed GPUs go to the remaining grants, a team that leaves mid-program
   * (withdrawn or eliminated) has its GPUs split evenly among the grants still running.
   */
  async function offerFreedGpus(report: Extract<GrantReport, { kind: 'ended' }>): Promise<void> {
    if (report.reallocation !== 'to_remaining_grants' || !report.freed) return;
    const { freed } = report;
    for (const share of shareFreedGpus(state, { grantId: report.grantId, reason: report.reason, count: freed.count })) {
      // A grant this cycle has not started, or is already releasing, takes nothing.
      if (!startedGrants.has(share.grantId) || releaseSent.has(share.grantId)) continue;
      await signalGrant(share.grantId, (h) => h.signal(reallocateGpusSignal, { from: report.grantId, share: { ...freed, count: share.count } }));
    }
  }

  /** A grant's report may arrive after the cycle already moved past it (e.g. started, then cut): that is fine. */
  async function applyIfStillValid(command: CycleCommand): Promise<void> {
    try {
      await apply(command);
    } catch (error) {
      if (!(error instanceof ApplicationFailure && error.type === 'DomainError')) throw error;
    }
  }

  async function reconcileGrants(): Promise<void> {
    for (const grant of grantsToStart(state)) {
      if (startedGrants.has(grant.grantId)) continue;
      startedGrants.add(grant.grantId);
      extensionSent[grant.grantId] = grant.endsAt;
      try {
        await startChild(computeGrant, {
          workflowId: grant.grantId,
          args: [
            {
              cycleId,
              grantId: grant.grantId,
              applicationId: grant.applicationId,
              organisationId: grant.organisationId,
              gpus: grant.gpus,
              endsAt: grant.endsAt,
              ...(input.tuning?.grantMeteringInterval ? { meteringInterval: input.tuning.grantMeteringInterval } : {}),
            },
          ],
          // Grants outlive a continue-as-new of the cycle; they report back by signal.
          parentClosePolicy: ParentClosePolicy.ABANDON,
        });
      } catch (error) {
        if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      }
    }
    if (state.stage !== 'not_started') {
      for (const grant of Object.values(state.grants)) {
        if (grant.status === 'active' && startedGrants.has(grant.grantId) && extensionSent[grant.grantId] !== grant.endsAt && grant.endsAt) {
          extensionSent[grant.grantId] = grant.endsAt;
          await signalGrant(grant.grantId, (h) => h.signal(extendGrantSignal, { until: grant.endsAt!, gpus: grant.gpus }));
        }
      }
    }
    for (const grant of grantsToRelease(state)) {
      if (!startedGrants.has(grant.grantId)) {
        await apply({ type: 'RecordGrantEnded', actor: SYSTEM, data: { applicationId: grant.applicationId, grantId: grant.grantId, reason: grant.reason } });
        continue;
      }
      if (releaseSent.has(grant.grantId)) continue;
      releaseSent.add(grant.grantId);
      await signalGrant(grant.grantId, (h) => h.signal(releaseGrantSignal, { reason: grant.reason }));
    }
  }
}

/**
 * A grant that has already finished cannot be signalled; it has sent (or is sending) its 'ended'
 * report, which the inbox turns into RecordGrantEnded. Nothing else to do.
 */
async function signalGrant(grantId: string, send: (handle: ReturnType<typeof getExternalWorkflowHandle>) => Promise<void>): Promise<void> {
  try {
    await send(getExternalWorkflowHandle(grantId));
  } catch (error) {
    if (!(error instanceof Error && /not found/i.test(error.message))) throw error;
  }
}

function decideOrRefuse(command: CycleCommand, state: CycleState): CycleEvent[] {
  try {
    return decide(command, state, nowIso());
  } catch (error) {
    if (error instanceof DomainError) {
      throw ApplicationFailure.create({ type: 'DomainError', message: error.message, details: [error.toJSON()], nonRetryable: true });
    }
    throw error;
  }
}

function openCall(input: CycleInput, cycleId: string): CycleCommand {
  return {
    type: 'OpenCall',
    actor: { ...input.startedBy, role: 'program_manager' },
    data: {
      programSlug: input.programSlug,
      year: input.year,
      policy: input.policy as unknown as ProgramPolicy,
      policyHash: input.policyHash,
      lotterySeed: input.lotterySeed ?? cycleId,
      panel: input.panel ?? { reviewers: [], evaluators: [] },
    },
  };
}

/** When the policy repeats, next year's cycle is started now and waits for its own opening date. */
async function scheduleNextCycle(input: CycleInput, state: CycleState): Promise<string | null> {
  if (state.stage !== 'closed') return null;
  const closed = state.closedAt ? state : null;
  const repeat = (input.policy as unknown as ProgramPolicy).repeatEvery;
  if (!closed || !repeat) return null;
  const nextId = cycleWorkflowId(input.programSlug, input.year + 1);
  try {
    await startChild(programCycleOpeningLater, {
      workflowId: nextId,
      args: [{ ...input, year: input.year + 1 }, state.openedAt, repeat],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return nextId;
}

/** Next year's cycle: waits (a durable timer) until one repeat period after this year's opening. */
export async function programCycleOpeningLater(input: CycleInput, previousOpenedAt: string, repeatEvery: string): Promise<CycleOutcome> {
  const opensAt = addDuration(previousOpenedAt, repeatEvery);
  await sleep(Math.max(1, Date.parse(opensAt) - Date.now()));
  return await makeContinueAsNewFunc<typeof programCycle>({ workflowType: 'programCycle' })(input);
}

async function notifyEscalations(cycleId: string, events: CycleEvent[], sequence: number): Promise<void> {
  const escalations = events.filter((e) => e.type === 'EscalationRaised');
  for (const [i, event] of escalations.entries()) {
    await notifications.enqueueNotification({
      key: `${cycleId}:escalation:${sequence}:${i}`,
      cycleId,
      kind: 'escalation',
      recipient: { role: 'program_manager' },
      subject: `Escalation in ${cycleId}`,
      body: event.data as unknown as Record<string, unknown>,
      dueAt: nowIso(),
    });
  }
}

function versionOf(state: CycleState): number {
  return state.stage === 'not_started' ? 0 : state.version;
}

function earliestOf(...instants: (string | null | undefined)[]): string | undefined {
  return instants.filter((x): x is string => !!x).sort((a, b) => Date.parse(a) - Date.parse(b))[0];
}

/** Workflow time: deterministic on replay. */
function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Keeps the stage search attribute current for operators. Only a cycle started with the attribute
 * (the API sets it; the namespace has it registered) upserts it: an unregistered attribute would
 * fail the workflow task.
 */
function showStage(stage: string): void {
  if (SEARCH_ATTRIBUTES.stage in (workflowInfo().searchAttributes ?? {})) {
    upsertSearchAttributes({ [SEARCH_ATTRIBUTES.stage]: [stage] });
  }
}
