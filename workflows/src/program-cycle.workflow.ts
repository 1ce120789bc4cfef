import {
  ApplicationFailure,
  CancellationScope,
  ParentClosePolicy,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  DomainError,
  admit,
  compareInstants,
  decide,
  initialState,
  isCycleOver,
  nextCycle,
  nextCycleOpensAt,
  nextDeadline,
  owed,
  remindersDue,
  teamsAwaitingNotice,
  type CycleCommand,
  type CycleEvent,
  type CycleState,
  type ProgramPolicy,
} from '@concentra/domain';
import {
  CYCLE_BUSY,
  CYCLE_WORKFLOW_TASK_TIMEOUT,
  PERSON_COMMANDS,
  SEARCH_ATTRIBUTES,
  commandUpdates,
  cycleStatusQuery,
  cycleWorkflowId,
  grantReportSignal,
  type CommandResult,
  type CycleInput,
  type PersonCommand,
} from './contracts';
import { CycleBenchmarks } from './cycle-benchmarks';
import { CycleGrants, FAN_OUT_PATCH, type GrantsCarry } from './cycle-grants';
import { BATCH_PATCH, CycleCommands, refusing } from './cycle-commands';
import { EventRecorder } from './event-recorder';
import { notifications } from './notify';
import { Alarm, nextWake, wakeKey, type Wake } from './wake';

export interface CycleOutcome {
  stage: string;
  eventsRecorded: number;
  nextCycleId: string | null;
}

/** What one run hands the next across continue-as-new: the compact state and the bookkeeping. */
export interface CycleCarry {
  state: CycleState;
  sequence: number;
  /** Reminders planned up to this instant are written: an instant a timer was armed for, never a clock reading. */
  remindersThrough: string | null;
  grants: GrantsCarry;
}

const SYSTEM = { role: 'system' as const, subject: 'workflow' };
/** Histories stay far below Temporal's limits: a new run after this many recorded decisions, */
const EVENTS_PER_RUN = 1_000;
/** or this many history events (a command alone costs about a dozen: tasks, the Update, the record activity; in a batch, about three). */
const HISTORY_PER_RUN = 6_000;
/**
 * or (batched cycles) this many bytes of history: the server suggests a new run only at 4 MB, the
 * size a client's default gRPC limit can no longer fetch (an audit export, the bench); a batch may
 * add a few hundred KB before the check.
 */
const HISTORY_BYTES_PER_RUN = 2 * 1024 * 1024;
/** How often a cycle waiting for released grants to report asks whether they are still there. */
const AWAITED_GRANT_CHECK = '10 minutes';
/**
 * Objection windows that start on notice (policy `objections.windowStartsAt: notified`): the cycle
 * asks the outbox whether the decision's notices were delivered, a minute after the decision and
 * then twice as long each time, at most hourly, until every affected team's window has started or
 * the policy's bound (`notifiedWithin`, a deadline) starts the rest. The window starts at the check
 * that finds the delivery (workflow time, never earlier than the delivery), so a team always has at
 * least the policy's days after its notice. Cycles recorded before this ask nothing (patched).
 */
const NOTICE_WINDOW_PATCH = 'objection-window-starts-on-notice';
const FIRST_NOTICE_CHECK_MS = 60_000;
const LAST_NOTICE_CHECK_MS = 3_600_000;

/**
 * One program year, `cycle:<program>:<year>`, as an interpreter of the domain's cycle decider:
 * people's commands arrive as Updates (admitted by the clock and validated by `decide` in the
 * validator), deadlines are durable timers armed for a named deadline that send `DeadlinePassed`
 * when they fire, and every decision is recorded as an event before the state moves on; the state
 * evolves from the events as the store answers them. Each awardee's grant runs as a child workflow.
 */
export async function programCycle(input: CycleInput, carry?: CycleCarry): Promise<CycleOutcome> {
  const cycleId = workflowInfo().workflowId;
  let state: CycleState = carry?.state ?? initialState;
  const recorder = new EventRecorder(cycleId, carry?.sequence ?? 0);
  const recordedAtStart = recorder.recorded;
  let remindersThrough = carry?.remindersThrough ?? null;

  // Decided before anything is recorded, once per run: whether this run batches its commands' records.
  const batched = patched(BATCH_PATCH);
  const commands = new CycleCommands(
    {
      recorder,
      policyHash: input.policyHash,
      state: () => state,
      setState: (next) => void (state = next),
      recorded: async (command, recorded, sequence) => {
        // The SDK's workflow logger: replay-safe (silent while replaying), no effect on the history.
        log.info('cycle decision recorded', { command: command.type, events: recorded.map((e) => e.type), stage: state.stage });
        showStage(state.stage, batched);
        await notifyEscalations(cycleId, recorded, sequence);
      },
    },
    batched,
  );
  /** Decides on the current state, records, and evolves from what was recorded (see CycleCommands). `now` only stamps. */
  const apply = (command: CycleCommand, now: string = nowIso(), stands?: (s: CycleState) => boolean): Promise<CycleEvent[]> => commands.apply(command, now, stands);

  const grants = new CycleGrants(cycleId, () => state, apply, input.tuning, carry?.grants, patched(FAN_OUT_PATCH));
  const benchmarks = new CycleBenchmarks(cycleId, () => state, apply, SYSTEM);
  const wakeAlarm = new Alarm();
  let draining = false;
  const checkAlarm = new Alarm();
  const noticeAlarm = new Alarm();
  let noticeChecks = { of: '', count: 0 };

  setHandler(cycleStatusQuery, () => {
    const deadline = nextDeadline(state);
    const owing = owed(state);
    const nextDueAt = owing.map((o) => o.dueAt).filter((at): at is string => !!at).sort(compareInstants)[0] ?? null;
    return { cycleId, stage: state.stage, nextDeadline: deadline && { kind: deadline.deadline, at: deadline.at }, eventsRecorded: recorder.recorded, owed: { count: owing.length, nextDueAt } };
  });
  for (const type of PERSON_COMMANDS) {
    setHandler(
      commandUpdates[type],
      async (command: PersonCommand): Promise<CommandResult> => {
        const events = await apply(command);
        return { events: events.map((e) => e.type), stage: state.stage, version: 'version' in state ? state.version : 0 };
      },
      // A late, duplicate or invalid command is rejected here, before it enters the history. The
      // clock is read only here: validators run once, live, and never on replay.
      {
        validator: (command: PersonCommand) => {
          // Finishing this run: commands keep arriving under load, and the run can only end once
          // every accepted one is applied. New ones wait for the next run (the API sends them again).
          if (draining) throw ApplicationFailure.create({ type: CYCLE_BUSY, message: 'the cycle is starting its next run; send the command again in a moment', nonRetryable: true });
          refusing(() => {
            const now = nowIso();
            admit(command, state, now);
            decide(command, state, now);
          });
        },
      },
    );
  }
  setHandler(grantReportSignal, (report) => void grants.inbox.push(report));

  try {
    if (state.stage === 'not_started') {
      await apply(openCall(input, cycleId));
      const opened = state as CycleState; // apply() moved it on
      remindersThrough = opened.stage === 'not_started' ? null : opened.openedAt;
    }
    while (!isCycleOver(state)) {
      await grants.drainInbox();
      await grants.reconcile();
      if (isCycleOver(state)) break;
      benchmarks.reconcile();
      const info = workflowInfo();
      const large = batched && info.historySize >= HISTORY_BYTES_PER_RUN;
      if (info.continueAsNewSuggested || large || info.historyLength >= HISTORY_PER_RUN || recorder.recorded - recordedAtStart >= (input.tuning?.eventsPerRun ?? EVENTS_PER_RUN)) {
        draining = true;
        await condition(allHandlersFinished);
        await commands.settled();
        return await continueAsNew<typeof programCycle>(input, { state, sequence: recorder.recorded, remindersThrough, grants: grants.carry() });
      }
      const version = versionOf(state);
      const wake = nextWake(state, remindersThrough);
      wakeAlarm.set(wakeKey(wake), wake && { at: wake.at });
      checkAlarm.set(grants.awaitingRelease().length > 0 ? 'check' : null, { after: AWAITED_GRANT_CHECK });
      const watch = noticeWatch();
      if (watch && watch.of !== noticeChecks.of) noticeChecks = { of: watch.of, count: 0 };
      noticeAlarm.set(watch && `notice:${watch.of}:${noticeChecks.count}`, { after: Math.min(FIRST_NOTICE_CHECK_MS * 2 ** noticeChecks.count, LAST_NOTICE_CHECK_MS) });
      await condition(() => versionOf(state) !== version || grants.inbox.length > 0 || wakeAlarm.fired || checkAlarm.fired || noticeAlarm.fired);
      if (wakeAlarm.fired) {
        // It fired for what it was armed for; if a command meanwhile changed what comes next, that
        // purpose no longer stands and the loop arms the alarm for the one that does.
        const fired = wakeAlarm.take();
        const current = nextWake(state, remindersThrough);
        if (fired === wakeKey(current)) await onWake(current!);
      }
      if (checkAlarm.take()) await grants.checkAwaited();
      if (noticeAlarm.take()) await checkNotices();
    }
    await condition(allHandlersFinished);
    return { stage: state.stage, eventsRecorded: recorder.recorded, nextCycleId: await scheduleNextCycle(input, state, batched) };
  } catch (error) {
    if (!isCancellation(error)) throw error;
    // Cancelled from outside (an operator, not the API's CancelCycle): record it and give back
    // every GPU before the cancellation takes effect.
    await CancellationScope.nonCancellable(async () => {
      if (state.stage !== 'cancelled' && state.stage !== 'closed' && state.stage !== 'not_started') {
        await apply({ type: 'CancelCycle', actor: SYSTEM, data: { reason: 'workflow cancelled by an operator' } });
      }
      const check = new Alarm();
      while (!isCycleOver(state)) {
        await grants.drainInbox();
        await grants.reconcile();
        if (isCycleOver(state)) break;
        check.set('check', { after: AWAITED_GRANT_CHECK });
        await condition(() => grants.inbox.length > 0 || check.fired);
        if (check.take()) await grants.checkAwaited();
      }
    });
    throw error;
  }

  /** The decision whose affected teams' windows wait for their notice, if any (only cycles whose policy says so reach `patched`). */
  function noticeWatch(): { of: string; decisionKey: string; decidedAt: string; teams: string[] } | null {
    const teams = teamsAwaitingNotice(state);
    if (teams.length === 0 || state.stage === 'not_started' || !state.decision?.outcome || !patched(NOTICE_WINDOW_PATCH)) return null;
    const { key, outcome } = state.decision;
    return { of: `${key}@${outcome.decidedAt}`, decisionKey: key, decidedAt: outcome.decidedAt, teams };
  }

  /** The notice check fired: the teams whose notice the outbox shows delivered have their windows started. */
  async function checkNotices(): Promise<void> {
    const watch = noticeWatch();
    if (!watch) return;
    noticeChecks = { of: watch.of, count: noticeChecks.count + 1 };
    const told = await notifications.teamsNotified({ cycleId, decisionKey: watch.decisionKey, decidedAt: watch.decidedAt, applicationIds: watch.teams });
    if (told.length === 0) return;
    const command: CycleCommand = { type: 'RecordTeamsNotified', actor: SYSTEM, data: { decisionKey: watch.decisionKey, applicationIds: told } };
    // Commands applied meanwhile (every team answered, the bound passed) may have made it moot.
    await apply(command, nowIso(), (s) => teamsAwaitingNotice(s).some((id) => told.includes(id)));
  }

  /**
   * The timer armed for `wake` fired: the reminders planned up to it are due, and its deadline (if
   * any) has passed. The deadline's own instant stamps what it causes, so a replay, whatever its
   * clock reads, records the same decision.
   */
  async function onWake(wake: Wake): Promise<void> {
    for (const reminder of remindersDue(state, wake.at, remindersThrough ?? undefined)) {
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
    remindersThrough = wake.at;
    if (wake.deadline) {
      const command: CycleCommand = { type: 'DeadlinePassed', actor: SYSTEM, data: { deadline: wake.deadline.kind, at: wake.deadline.at } };
      const { kind, at } = wake.deadline;
      // A command applied just before (it arrived with the timer) may have settled or moved this deadline.
      const pending = (s: CycleState) => s.stage !== 'not_started' && s.deadlines[kind] === at;
      await apply(command, at, pending).catch((error: unknown) => {
        // The deadline comes from the state itself: a refusal is a defect of this code. Failing the
        // workflow task (not the cycle) keeps the cycle waiting, unharmed, until a fix is deployed.
        if (error instanceof ApplicationFailure && error.type === 'DomainError') throw new Error(`the cycle refused its own ${command.type}: ${error.message}`);
        throw error;
      });
    }
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

/** Whether next year follows is the domain's rule (`nextCycle`); its cycle is started now and waits for its own opening date. */
async function scheduleNextCycle(input: CycleInput, state: CycleState, batched: boolean): Promise<string | null> {
  const next = nextCycle(state);
  if (!next) return null;
  const nextId = cycleWorkflowId(input.programSlug, next.year);
  try {
    await startChild(programCycleOpeningLater, {
      workflowId: nextId,
      args: [{ ...input, year: next.year }, next.after, next.repeatEvery],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      ...(batched ? { workflowTaskTimeout: CYCLE_WORKFLOW_TASK_TIMEOUT } : {}),
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
  return nextId;
}

/** Next year's cycle: waits (a durable timer) until it opens, by the domain's `nextCycleOpensAt`. */
export async function programCycleOpeningLater(input: CycleInput, previousOpenedAt: string, repeatEvery: string): Promise<CycleOutcome> {
  // A command sent before the opening is refused as such: a typed DomainError the API maps to a 409,
  // never an Update without a handler that the API would have to recognise by the SDK's wording.
  const notOpen = (): never => refusing(() => {
    throw new DomainError('invalid_state', `the cycle '${workflowInfo().workflowId}' has not opened yet`, 'id');
  });
  for (const type of PERSON_COMMANDS) setHandler(commandUpdates[type], async (_command: PersonCommand): Promise<CommandResult> => notOpen(), { validator: (_command: PersonCommand) => notOpen() });
  const opensAt = nextCycleOpensAt(previousOpenedAt, repeatEvery)!;
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

/** Workflow time, to stamp what is recorded; never compared with an instant to decide. */
function nowIso(): string {
  return new Date().toISOString();
}

/**
 * Keeps the stage search attribute current for operators. Only a cycle started with the attribute
 * (the API sets it; the namespace has it registered) upserts it: an unregistered attribute would
 * fail the workflow task.
 */
function showStage(stage: string, onlyChanges: boolean): void {
  const shown = workflowInfo().searchAttributes ?? {};
  if (!(SEARCH_ATTRIBUTES.stage in shown)) return;
  // Batched cycles upsert only a new stage: an upsert is a history event, and most commands move no stage.
  if (onlyChanges && shown[SEARCH_ATTRIBUTES.stage]?.[0] === stage) return;
  upsertSearchAttributes({ [SEARCH_ATTRIBUTES.stage]: [stage] });
}
