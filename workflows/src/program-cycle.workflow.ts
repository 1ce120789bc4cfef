import { setHandler, sleep, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { resolveDue, type CallStage, type ProgramPolicy } from '@concentra/domain';
import { SEARCH_ATTRIBUTES, cycleStatusQuery, type CycleInput, type CycleStatus } from './contracts';
import { EventRecorder } from './event-recorder';

export interface CycleOutcome {
  stage: string;
  eventsRecorded: number;
}

/** One program year, `cycle:<program>:<year>`: opens the call, and closes it when its deadline passes. */
export async function programCycle(input: CycleInput): Promise<CycleOutcome> {
  const policy = input.policy as unknown as ProgramPolicy;
  const cycleId = workflowInfo().workflowId;
  const recorder = new EventRecorder(cycleId);
  const metadata = { policyHash: input.policyHash, actor: input.startedBy };
  let stage = 'call';
  let nextDeadline: CycleStatus['nextDeadline'] = null;

  setHandler(cycleStatusQuery, () => ({ cycleId, stage, nextDeadline, eventsRecorded: recorder.recorded }));

  const openedAt = new Date().toISOString();
  const call = policy.stages.find((s): s is CallStage => s.kind === 'call');
  if (!call) throw new Error('the policy has no call stage'); // parsePolicy guarantees one
  const closesAt = resolveDue(call.closing.deadline, openedAt);
  await recorder.record(
    [{ type: 'CallOpened', data: { program: input.programSlug, year: input.year, policyHash: input.policyHash, openedAt, closesAt, stage } }],
    metadata,
  );
  nextDeadline = { kind: 'call_closes', at: closesAt };

  // A durable timer: the worker may stop for weeks; the call still closes on time.
  await sleep(Math.max(0, Date.parse(closesAt) - Date.now()));

  stage = 'review';
  nextDeadline = null;
  await recorder.record([{ type: 'CallClosed', data: { closedAt: new Date().toISOString(), applications: 0, stage } }], metadata);
  showStage(stage);
  return { stage, eventsRecorded: recorder.recorded };
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
