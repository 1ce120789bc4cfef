/**
 * A grant never fails over a change the GPU ledger refuses for good. Here the team's allocation was
 * released out of band (an operator at the ledger), then the program manager sets a new amount: the
 * ledger answers "no live allocation to change", a non-retryable refusal. Before `grant-ledger-refusal`
 * the grant workflow failed on it; now the refusal is recorded (GrantChangeRefused), escalated to the
 * program managers, and the grant goes on as it was until the cycle releases it.
 */
import { defaultPolicy } from '@concentra/domain';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectAllReleased, toGrants } from '../cycle-drivers';
import { pm } from '../../../libs/domain/src/cycle/testing';
import { recordHistoryFixture } from '../../../test/support/histories';

describe('a change the GPU ledger refuses for good', () => {
  const harness = useCycleHarness();

  it('is recorded and escalated; the grant goes on and is released with the others', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    await harness.gpu.ledger.release({ idempotencyKey: 'operator-release-a2', grantId: run.grantId('a2'), reason: 'operator' });

    const set = await run.send({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a2', gpus: [{ type: 'H100', count: 640 }], rationale: 'larger training run agreed' } });
    expect(set.events).toEqual(['GrantGpusChanged']);
    await run.untilEvents('GrantGpusChanged', 'GrantChangeRefused', 'EscalationRaised');
    const [refused] = await run.eventsOf('GrantChangeRefused');
    expect(refused.data).toMatchObject({ applicationId: 'a2', grantId: run.grantId('a2'), change: 'GPU amount', code: 'invalid_state', message: expect.stringContaining('holds no live allocation') });
    const escalations = (await run.eventsOf('EscalationRaised')).filter((e) => e.data.reason === 'ledger_refusal');
    expect(escalations.map((e) => e.data.subject)).toEqual([run.grantId('a2')]);
    // The escalation is enqueued right after its events are recorded: it may reach the outbox a moment later.
    await harness.poll('the ledger refusal escalated to the outbox', async () => (await harness.outbox(run.id, 'escalation')).some((n) => JSON.stringify(n.body).includes('ledger_refusal')) || undefined);

    // The grant did not fail: it is running, and the cycle still counts it as active.
    expect((await harness.env.client.workflow.getHandle(run.grantId('a2')).describe()).status.name).toBe('RUNNING');
    expect((await run.eventsOf('GrantEnded')).map((e) => e.data.applicationId)).toEqual([]);

    await cancelAndDrain(run);
    const ended = (await run.eventsOf('GrantEnded')).find((e) => e.data.applicationId === 'a2');
    expect(ended?.data.reason).toBe('cancelled');
    await expectAllReleased(run);
    await recordHistoryFixture(harness.env.client.workflow.getHandle(run.grantId('a2')), 'grant-ledger-refusal');
  });
});
