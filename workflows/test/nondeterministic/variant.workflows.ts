/**
 * A deliberately non-deterministic change to skeleton.workflows.ts, for the replay guard's own
 * test: the call's timer now starts before CallOpened is recorded, so the first command after the
 * workflow starts is a timer where the history has the recordEvents activity. Never deploy this.
 */
import { defineQuery, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, NewEvent } from '@concentra/persistence';
import type { SkeletonInput } from './skeleton.workflows';

const { recordEvents } = proxyActivities<EventActivities>({ startToCloseTimeout: '1 minute' });

export const skeletonStatusQuery = defineQuery<{ stage: string; eventsRecorded: number }>('cycleStatus');

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
  // The change: wait first, record afterwards (and both at once).
  const timer = sleep(Math.max(0, Date.parse(closesAt) - Date.now()));
  await record('CallOpened', { program: input.programSlug, year: input.year, policyHash: input.policyHash, openedAt, closesAt, stage });
  await timer;
  stage = 'review';
  await record('CallClosed', { closedAt: new Date().toISOString(), applications: 0, stage });
  return { stage, eventsRecorded: sequence };
}
