import type { WorkflowHandle } from '@temporalio/client';

/** What a workflow execution has under way, as its description and the end of its history say. */
export interface WorkflowRest {
  status: string;
  /** Running, with no workflow task or activity pending and nothing started at the end of its history. */
  atRest: boolean;
  pendingWorkflowTask: boolean;
  pendingActivities: number;
  lastEvent: string;
}

/**
 * Whether a workflow has come to rest: no workflow task or activity pending, and its history does
 * not end with something under way (a task, an activity, a signal to another workflow or a child
 * being started). Tests and `simulate` wait for this before they move a clock or send the next command.
 */
export async function workflowRest(handle: WorkflowHandle): Promise<WorkflowRest> {
  const description = await handle.describe();
  const pendingWorkflowTask = !!description.raw.pendingWorkflowTask;
  const pendingActivities = description.raw.pendingActivities?.length ?? 0;
  const status = description.status.name;
  // The whole history is read only when the description shows nothing under way (it grows with the
  // run, and pollers ask many times while a task or an activity is still pending).
  if (status !== 'RUNNING' || pendingWorkflowTask || pendingActivities > 0) return { status, atRest: false, pendingWorkflowTask, pendingActivities, lastEvent: '(not read)' };
  const history = await handle.fetchHistory();
  const final = history.events!.at(-1)!;
  const underWay = !!(
    final.workflowTaskScheduledEventAttributes ||
    final.workflowTaskStartedEventAttributes ||
    final.activityTaskScheduledEventAttributes ||
    final.activityTaskStartedEventAttributes ||
    final.signalExternalWorkflowExecutionInitiatedEventAttributes ||
    final.startChildWorkflowExecutionInitiatedEventAttributes
  );
  return { status, atRest: !underWay, pendingWorkflowTask, pendingActivities, lastEvent: `${String(final.eventId)} ${String(final.eventType)}` };
}
