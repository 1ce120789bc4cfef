/**
 * Test-only workflows for the audit tools' integration tests, bundled on their own so the tests do
 * not depend on workflows/src while the engine changes: the frozen skeleton cycle, and a cycle that
 * records a scripted list of domain events (e.g. a full year played by libs/domain) through the real
 * recordEvents activity, so its bundle has real histories and real decision events.
 */
import { proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { EventActivities, EventMetadata, NewEvent } from '@concentra/persistence';

export { programCycle } from '../../../../workflows/test/nondeterministic/skeleton.workflows';

const { recordEvents } = proxyActivities<EventActivities>({ startToCloseTimeout: '1 minute' });

export interface ScriptedCycleInput {
  metadata: EventMetadata;
  batches: Array<{ afterMs: number; events: Array<{ type: string; data: Record<string, unknown> }> }>;
}

export async function scriptedCycle(input: ScriptedCycleInput): Promise<number> {
  const streamId = workflowInfo().workflowId;
  let sequence = 0;
  for (const batch of input.batches) {
    if (batch.afterMs > 0) await sleep(batch.afterMs);
    const occurredAt = new Date().toISOString();
    const events: NewEvent[] = batch.events.map((e) => ({ eventId: `${streamId}#${++sequence}`, type: e.type, data: e.data, metadata: input.metadata, occurredAt }));
    await recordEvents({ streamId, events });
  }
  return sequence;
}
