/**
 * The pool policy `to_remaining_grants`: when a team leaves mid-grant, the GPUs it gives back are
 * split among the grants still running (each raised through changeGrant), and all of it is still
 * released at the end.
 */
import { defaultPolicy } from '@concentra/domain';
import { CycleHarness } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectAllReleased, toGrants } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf } from '../../../libs/domain/src/cycle/testing';

describe('reallocation of freed GPUs', () => {
  let harness: CycleHarness;
  beforeAll(async () => {
    harness = await CycleHarness.create();
    const { policy } = await harness.gpu.ledger.policy();
    await harness.gpu.ledger.setPolicy({ ...policy, reallocation: 'to_remaining_grants' }, 'test-setup');
  });
  afterAll(async () => harness?.close());

  it("splits a withdrawn team's GPUs among the remaining grants, then releases everything", async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    const before = await harness.gpu.liveAllocations();
    expect(before.map((a) => a.served?.count)).toEqual([512, 512, 512]);

    await run.send({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } });
    await run.untilEvents('ApplicationWithdrawn', 'GrantEnded');

    // a3's 512 H100 go to a1 and a2, 256 each (polled with a bound: the grants apply the offer themselves).
    let counts: Record<string, number | undefined> = {};
    for (let i = 0; i < 300; i++) {
      counts = Object.fromEntries((await harness.gpu.liveAllocations()).map((a) => [a.grantId, a.served?.count]));
      if (counts[run.grantId('a1')] === 768 && counts[run.grantId('a2')] === 768) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(counts).toEqual({ [run.grantId('a1')]: 768, [run.grantId('a2')]: 768 });

    await cancelAndDrain(run);
    await expectAllReleased(run);
    await recordHistoryFixture(run.handle, 'reallocation-to-remaining-grants');
  });
});
