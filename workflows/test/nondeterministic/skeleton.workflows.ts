/**
 * The walking skeleton's programCycle (commit 570b2ea): the same commands in the same order
 * (record CallOpened, a durable timer for the call, record CallClosed), frozen here so
 * that the replay guard has a baseline that never changes: its recorded history
 * (fixtures/nondeterminism/) replays clean against this file, and fails against variant.workflows.ts.
 * Self-contained on purpose: it must not follow later changes to workflows/src.
 */
import { defineQuery, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, NewEvent } from '@concentra/persistence';

export interface SkeletonInput {
  programSlug: string;
  year: number;
  policyHash: string;
  startedBy: { role: string; subject: string };
  /** How long the call stays open, in milliseconds (the policy's call deadline). */
  callMs: number;
}

const { recordEvents } = proxyActivities<EventActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2, nonRetryableErrorTypes: ['EventStoreError'] },
});

export const skeletonStatusQuery = defineQuery<{ stage: string; eventsRecorded: number }>('cycleStatus');

/** Opens the call, waits for its deadline on a durable timer, and closes it. */
export async function programCycle(input: SkeletonInput): Promise<{ stage: string; eventsRecorded: number }> {
  const cycleId = workflowInfo().workflowId;
  const metadata = { policyHash: input.policyHash, actor: input.startedBy };
  let sequence = 0;
  let stage = 'call';
  const record = async (type: string, data: Record<string, unknown>) => {
    const event: NewEvent = { eventId: `${cycleId}#${++sequence}`, type, data, metadata, occurredAt: new Date().toISOString() };
    await recordEvents({ streamId: cycleId, events: [event] });
  };
  setHandler(skeletonStatusQuery, () => ({ stage, eventsRecorded: sequence }));

  const openedAt = new Date().toISOString();
  const closesAt = new Date(Date.now() + input.callMs).toISOString();
  await record('CallOpened', { program: input.programSlug, year: input.year, policyHash: input.policyHash, openedAt, closesAt, stage });
  await sleep(Math.max(0, Date.parse(closesAt) - Date.now()));
  stage = 'review';
  await record('CallClosed', { closedAt: new Date().toISOString(), applications: 0, stage });
  return { stage, eventsRecorded: sequence };
}
