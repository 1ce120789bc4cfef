/** Test-only: what a signal to a workflow that is not running throws inside workflow code. */
import { defineSignal, getExternalWorkflowHandle } from '@temporalio/workflow';
import { isWorkflowGone } from '../../src/external-workflows';

const ping = defineSignal('ping');

export async function signalMissing(workflowId: string): Promise<{ gone: boolean; name: string; type: string | null }> {
  try {
    await getExternalWorkflowHandle(workflowId).signal(ping);
    return { gone: false, name: 'none', type: null };
  } catch (error) {
    return { gone: isWorkflowGone(error), name: (error as Error).constructor.name, type: (error as { type?: string }).type ?? null };
  }
}
