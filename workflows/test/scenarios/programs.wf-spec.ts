/**
 * What real programs also do (issue 15), each as policy data run through the cycle workflow on the
 * time-skipping test server, its events re-derived by the auditor's `rederive`.
 */
import { defaultPolicyDocument, parsePolicy } from '@concentra/domain';
import { rederive } from '@concentra/audit';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, applyAll, cancelAndDrain, reviewAll } from '../cycle-drivers';
import { pm } from '../../../libs/domain/src/cycle/testing';

describe('programs: policy features real funders use', () => {
  const harness = useCycleHarness();

  it('any duration: an objection window of PT30S closes thirty seconds after the selection, on its own timer', async () => {
    const policy = parsePolicy({ ...defaultPolicyDocument, objections: { window: 'PT30S', appliesTo: ['selection'] } });
    const run = await harness.start(policy, { panel: PANEL });
    const ids = await applyAll(run, 7); // five awards: two not selected may object
    await run.passDeadline('call_close');
    await reviewAll(run, ids);
    await run.passDeadline('review_due');
    expect((await run.send({ type: 'ApproveSelection', actor: pm, data: {} })).events).toEqual(['AwardeesSelected']);
    const [selected] = await run.eventsOf('AwardeesSelected');
    expect(Date.parse(selected.data.objectionWindowEndsAt) - Date.parse(selected.data.decidedAt)).toBe(30_000);
    expect((await run.status()).nextDeadline).toEqual({ kind: 'objection_window_end', at: selected.data.objectionWindowEndsAt });
    expect((await run.passDeadline('objection_window_end')).stage).toBe('grant');
    const [closed] = await run.eventsOf('ObjectionWindowClosed');
    expect(closed.data).toMatchObject({ early: false, closedAt: selected.data.objectionWindowEndsAt, pending: [] });
    const audit = rederive(await run.events());
    expect(audit.decisions.map((d) => [d.decisionKey, d.ok])).toEqual([['review:1', true], ['selection', true]]);
    await cancelAndDrain(run);
  });
});
