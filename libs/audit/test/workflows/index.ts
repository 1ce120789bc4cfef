/**
 * Test-only workflows for the audit tools' integration tests, bundled on their own so the tests do
 * not depend on workflows/src while the engine changes: the frozen skeleton cycle, and a cycle that
 * records a scripted list of domain events (e.g. a full year played by libs/domain) through the real
 * recordEvents activity, so its bundle has real histories and real decision events.
 */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler, sleep, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, EventMetadata, NewEvent } from '@concentra/persistence';

export { programCycle } from '../../../../workflows/test/nondeterministic/skeleton.workflows';

const { recordEvents } = proxyActivities<EventActivities>({ startToCloseTimeout: '1 minute' });

export interface ScriptedCycleInput {
  metadata: EventMetadata;
  /** With `step`, each batch after the first waits for a `next` signal, so a test can look at the API in between. */
  step?: boolean;
  batches: Array<{ afterMs: number; events: Array<{ type: string; data: Record<string, unknown>; metadata?: EventMetadata }> }>;
}

export const nextBatchSignal = defineSignal('next');
/** Answers the API's live read the way programCycle does. */
const statusQuery = defineQuery<{ cycleId: string; stage: string; nextDeadline: null; eventsRecorded: number; owed: never[] }>('cycleStatus');

export async function scriptedCycle(input: ScriptedCycleInput): Promise<number> {
  const streamId = workflowInfo().workflowId;
  let sequence = 0;
  let released = 0;
  let stage = 'not_started';
  setHandler(nextBatchSignal, () => {
    released += 1;
  });
  setHandler(statusQuery, () => ({ cycleId: streamId, stage, nextDeadline: null, eventsRecorded: sequence, owed: [] }));
  for (const [i, batch] of input.batches.entries()) {
    if (input.step && i > 0) await condition(() => released >= i);
    if (batch.afterMs > 0) await sleep(batch.afterMs);
    const occurredAt = new Date().toISOString();
    const events: NewEvent[] = batch.events.map((e) => ({
      eventId: `${streamId}#${++sequence}`,
      type: e.type,
      data: e.data,
      metadata: { ...input.metadata, ...e.metadata },
      occurredAt,
    }));
    await recordEvents({ streamId, events });
    const last = events[events.length - 1]?.metadata.stage;
    if (typeof last === 'string') stage = last;
  }
  return sequence;
}
