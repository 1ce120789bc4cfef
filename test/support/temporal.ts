import { TestWorkflowEnvironment } from '@temporalio/testing';

/** The real time-skipping test server binary, resolved by the global setup (never the SDK's download). */
export function createTimeSkippingEnvironment(): Promise<TestWorkflowEnvironment> {
  const path = process.env.TEMPORAL_TEST_SERVER_PATH;
  if (!path) throw new Error('TEMPORAL_TEST_SERVER_PATH is not set: run the tests through jest (test/global-setup.ts)');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
}

/** The Temporal dev server the global setup started (real time): for fault tests with short policies. */
export function createDevServerEnvironment(): Promise<TestWorkflowEnvironment> {
  const address = process.env.TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts)');
  return TestWorkflowEnvironment.createFromExistingServer({ address });
}
