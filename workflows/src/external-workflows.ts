import { ApplicationFailure } from '@temporalio/workflow';

/**
 * The failure type Temporal's core SDK gives a signal to an external workflow that is not running:
 * the server's `SignalExternalWorkflowExecutionFailedCause`, by name (not the message, which an SDK
 * release may reword). workflows/test/external-signal.wf-spec.ts checks it against the real server.
 */
export const EXTERNAL_WORKFLOW_NOT_FOUND = 'ExternalWorkflowExecutionNotFound';

/** A signal found no running workflow under that id (it has closed, or is between two runs). */
export function isWorkflowGone(error: unknown): boolean {
  return error instanceof ApplicationFailure && error.type === EXTERNAL_WORKFLOW_NOT_FOUND;
}
