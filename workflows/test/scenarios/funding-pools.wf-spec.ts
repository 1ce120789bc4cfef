/**
 * Budgets and pools (issue 15, item 4) through the cycle workflow on the time-skipping test server:
 * two pools (companies' H100s counted in GPUs, universities' B200s counted in GPU-hours), partial
 * awards, a cap per region. The awarded amounts become the grants' amounts, provisioned on the real
 * GPU ledger in the pool's GPU type; every pool event re-derives and reads as a sentence.
 */
import { rederive, timeline } from '@concentra/audit';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectAllReleased, expectRefused, reviewAll } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { pm } from '../../../libs/domain/src/cycle/testing';
import { companies, fundedPolicy, poolApplication, type Applicant } from '../../../libs/domain/src/cycle/pools-testing';

const universities = { id: 'universities', budget: { gpuHours: 450_000 }, leadTypes: ['university'], gpuType: 'B200' };
const policy = fundedPolicy({ pools: [companies, universities], award: 'partial', minimumAward: 10, caps: { perRegion: 900 } });
const APPLICANTS: Applicant[] = [
  { id: 'a1', gpus: 500, region: 'seoul' },
  { id: 'a2', gpus: 600, region: 'seoul' },
  { id: 'a3', type: 'university', gpus: 100 },
  { id: 'a4', gpus: 400 },
  { id: 'a5', type: 'university', gpus: 100 },
  { id: 'a6', gpus: 100 },
];

describe('budgets and pools through the workflow', () => {
  const harness = useCycleHarness();

  it('a two-pool call: each pool awards in rank order until it runs out and says so, caps cut amounts, and the grants are provisioned with the awarded amounts', async () => {
    const run = await harness.start(policy, { panel: PANEL });
    await expectRefused(run, poolApplication({ id: 'a0', region: 'Not A Region' }), 'validation_failed');
    for (const a of APPLICANTS) await run.send(poolApplication(a));
    await run.passDeadline('call_close');
    await reviewAll(run, APPLICANTS.map((a) => a.id));
    expect((await run.passDeadline('review_due')).stage).toBe('selection');

    const [allocated] = await run.eventsOf('FundingPoolsAllocated');
    const hours = allocated.data.hoursPerGpu as number; // six months from the call's opening, in whole hours
    expect(hours).toBeGreaterThanOrEqual(181 * 24);
    expect(hours).toBeLessThanOrEqual(184 * 24);
    expect(allocated.data.awards.map((a: { applicationId: string; poolId: string; requested: number; awarded: number; cost: number }) => [a.applicationId, a.poolId, a.requested, a.awarded, a.cost])).toEqual([
      ['a1', 'companies', 500, 500, 500],
      ['a2', 'companies', 600, 400, 400],
      ['a3', 'universities', 100, 100, 100 * hours],
      ['a4', 'companies', 400, 300, 300],
    ]);
    expect(allocated.data.capsApplied).toEqual([{ applicationId: 'a2', cap: 'region', key: 'seoul', limit: 900, before: 600, after: 400 }]);
    const exhausted = await run.eventsOf('PoolExhausted');
    expect(exhausted.map((e) => [e.data.poolId, e.data.used, e.data.partiallyFunded, e.data.notFunded])).toEqual([
      ['companies', 1200, { applicationId: 'a4', requested: 400, awarded: 300 }, ['a6']],
      ['universities', 100 * hours, null, ['a5']], // what is left pays fewer than the minimum award of 10 GPUs
    ]);
    const [proposed] = await run.eventsOf('SelectionProposed');
    expect(proposed.data.proposed).toEqual(['a1', 'a2', 'a3', 'a4']);

    expect((await run.send({ type: 'ApproveSelection', actor: pm, data: {} })).events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    const [started] = await run.eventsOf('GrantPeriodStarted');
    expect(started.data.gpusByTeam).toEqual({
      a1: [{ type: 'H100', count: 500 }],
      a2: [{ type: 'H100', count: 400 }],
      a3: [{ type: 'B200', count: 100 }],
      a4: [{ type: 'H100', count: 300 }],
    });
    const live = await run.untilLive(['a1', 'a2', 'a3', 'a4']);
    const served = Object.fromEntries(live.map((a) => [a.grantId.split(':').at(-1)!, [a.served?.type, a.served?.count]]));
    expect(served).toEqual({ a1: ['H100', 500], a2: ['H100', 400], a3: ['B200', 100], a4: ['H100', 300] });

    const events = await run.events();
    const audit = rederive(events);
    expect(audit.decisions.map((d) => [d.decisionKey, d.ok])).toEqual([
      ['review:1', true],
      ['selection:pools', true],
      ['selection:pool:companies', true],
      ['selection:pool:universities', true],
      ['selection', true],
    ]);
    const entries = timeline(events).filter((e) => e.type === 'PoolExhausted' || e.type === 'FundingPoolsAllocated');
    expect(entries.map((e) => e.who)).toEqual(['policy', 'policy', 'policy']);
    expect(entries[1].summary).toBe('funding pool "companies" ran out (1200 of 1200 GPUs used) and stopped awarding; "a4" got the 300 GPUs left of the 400 it asked for; not funded because of it: a6');
    expect(entries[0].summary).toMatch(/^funding pools awarded GPUs to 4 of 6 fundable application\(s\) \(partial, \d+ hours per GPU\): pool "companies" used 1200 of 1200 GPUs and ran out, awarding a1 500, a2 400 of 600 asked, a4 300 of 400 asked; pool "universities"/);

    await cancelAndDrain(run);
    await expectAllReleased(run);
    await recordHistoryFixture(run.handle, 'funding-pools-two-pools');
  });
});
