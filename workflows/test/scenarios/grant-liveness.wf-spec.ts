/**
 * A cycle never waits forever on a grant that is gone (issue 8): a grant workflow terminated by an
 * operator (or failed, or timed out) is noticed, recorded as ended with the reason, and the GPUs it
 * still held are given back under its own release key; the cycle carries on to its end.
 */
import { defaultPolicy } from '@concentra/domain';
import { useCycleHarness, type CycleRun } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectAllReleased, toGrants } from '../cycle-drivers';

const DAY = 86_400_000;

describe('grants that end without reporting', () => {
  // A test server of its own for each scenario: after a workflow is terminated with a task in flight,
  // the time-skipping server's later skips take real time (sdk-java #3088), which would stall the next
  // scenario on the same server for minutes.
  const harness = useCycleHarness({}, 'test');

  const endingOf = async (run: CycleRun, team: string) => (await run.eventsOf('GrantEnded')).find((e) => e.data.applicationId === team)?.data;

  it('a grant terminated mid-grant is recorded as ended with the reason, and its GPUs come back', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    await harness.sleepUntil((await harness.env.currentTimeMs()) + 30 * DAY);
    await harness.env.client.workflow.getHandle(run.grantId('a2')).terminate('operator error');

    // A real server tells the run that started the child at once ("grant workflow terminated");
    // the time-skipping test server never reports a child's termination to its parent
    // (temporalio/sdk-java#2921), so here the release finds the grant gone. Either way it is recorded.
    await cancelAndDrain(run);
    expect(await endingOf(run, 'a2')).toMatchObject({ grantId: run.grantId('a2'), reason: expect.stringMatching(/^grant workflow (terminated|closed without reporting its end)/) });
    expect((await run.allocations()).find((a) => a.grantId === run.grantId('a2'))).toMatchObject({ status: 'released' });
    expect((await endingOf(run, 'a1'))?.reason).toBe('cancelled');
  });

  it('a grant terminated after the cycle continued as new is noticed when the cycle releases it', async () => {
    const run = await harness.start({ ...defaultPolicy, repeatEvery: undefined }, { panel: PANEL, tuning: { eventsPerRun: 10 } });
    run.settleBeforeSend = true;
    await toGrants(run, 3);
    await run.settled();
    await harness.env.client.workflow.getHandle(run.grantId('a1')).terminate('operator error');

    // The run that started a1 is gone; cancelling releases every grant, and a1's release finds it closed.
    await cancelAndDrain(run);
    expect(await endingOf(run, 'a1')).toMatchObject({ reason: 'grant workflow closed without reporting its end' });
    await expectAllReleased(run);
  });
});
