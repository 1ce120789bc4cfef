// The baseline for the cycle-start benchmark: a bare Temporal workflow running one activity.
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10 seconds' });

export async function bareWorkflow(): Promise<void> {
  await noop();
}
