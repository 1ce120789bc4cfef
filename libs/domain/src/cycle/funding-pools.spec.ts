/** Budgets and pools (issue 15, item 4): Given/When/Then on the cycle decider, and the policy's validation. */
import type { FundingPoolsPolicy } from '../policy/funding-pools';
import { T0, Scenario, openCallCommand, pm, types } from './testing';
import { asking, companies, fundedPolicy, poolApplication, toPooledSelection } from './pools-testing';

describe('budgets and pools', () => {
  it('given a pool of 1,200 GPUs awarding full or nothing, when the selection is proposed, then it pays in rank order until an applicant does not fit, stops there, and says who was not funded because of it', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [companies], award: 'full_or_nothing' }), asking(500, 600, 300, 100));
    expect(types(sc.events.slice(-4))).toEqual(['ReviewRoundClosed', 'FundingPoolsAllocated', 'PoolExhausted', 'SelectionProposed']);
    const allocated = sc.last('FundingPoolsAllocated').data;
    expect(allocated.awards.map((a) => [a.applicationId, a.requested, a.awarded, a.gpus])).toEqual([
      ['a1', 500, 500, [{ type: 'H100', count: 500 }]],
      ['a2', 600, 600, [{ type: 'H100', count: 600 }]],
    ]);
    expect(allocated.pools).toEqual([{ poolId: 'companies', budget: { gpus: 1200 }, used: 1100, funded: ['a1', 'a2'], exhausted: true }]);
    // a4 would fit in the 100 left, but a pool that ran out stops awarding: rank order is not skipped.
    expect(sc.last('PoolExhausted').data).toEqual({ decisionKey: 'selection', poolId: 'companies', budget: { gpus: 1200 }, used: 1100, partiallyFunded: null, notFunded: ['a3', 'a4'], at: sc.now });
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2']);

    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: {} }))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    const started = sc.last('GrantPeriodStarted').data;
    expect(started.awardees).toEqual(['a1', 'a2']);
    expect(started.gpusByTeam).toEqual({ a1: [{ type: 'H100', count: 500 }], a2: [{ type: 'H100', count: 600 }] });
    expect(sc.running.grants.a2.gpus).toEqual([{ type: 'H100', count: 600 }]);
  });

  it('given pools that fund fewer than the minimum number of awards, the program manager is told', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [{ ...companies, budget: { gpus: 600 } }], award: 'full_or_nothing' }, { minAwardees: 3 }), asking(500, 600, 300, 100));
    expect(types(sc.events.slice(-2))).toEqual(['SelectionProposed', 'EscalationRaised']);
    expect(sc.last('EscalationRaised').data).toMatchObject({ reason: 'fewer_candidates_than_minimum', details: 'the funding pools fund 1 of 4 candidate(s) for at least 3 awards', heldDeadline: null });
  });

  it('given award "partial", the applicant the pool cannot fully pay gets what is left, and the pool then stops', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [companies], award: 'partial', minimumAward: 50 }), asking(500, 600, 300, 100));
    expect(sc.last('FundingPoolsAllocated').data.awards.map((a) => [a.applicationId, a.awarded])).toEqual([['a1', 500], ['a2', 600], ['a3', 100]]);
    expect(sc.last('PoolExhausted').data).toMatchObject({ used: 1200, partiallyFunded: { applicationId: 'a3', requested: 300, awarded: 100 }, notFunded: ['a4'] });
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    expect(sc.last('GrantPeriodStarted').data.gpusByTeam?.a3).toEqual([{ type: 'H100', count: 100 }]);
  });

  it('given a minimum award above what is left, the partial award is not made', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [companies], award: 'partial', minimumAward: 150 }), asking(500, 600, 300, 100));
    expect(sc.last('PoolExhausted').data).toMatchObject({ partiallyFunded: null, notFunded: ['a3', 'a4'] });
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2']);
  });

  it('caps per organisation and per region cut amounts (recorded with their effect), and one that leaves nothing funds nobody', () => {
    const policy = fundedPolicy({ pools: [{ ...companies, budget: { gpus: 10_000 } }], award: 'full_or_nothing', caps: { perOrganisation: 700, perRegion: 1000 } });
    const sc = toPooledSelection(policy, [
      { id: 'a1', gpus: 500, region: 'seoul' },
      { id: 'a2', gpus: 600, region: 'seoul' },
      { id: 'a3', gpus: 300, region: 'seoul' },
      { id: 'a4', gpus: 400, org: 'org-big' },
      { id: 'a5', gpus: 400, org: 'org-big' },
      { id: 'a6', gpus: 900, region: 'busan' },
    ]);
    const d = sc.last('FundingPoolsAllocated').data;
    expect(d.awards.map((a) => [a.applicationId, a.requested, a.awarded])).toEqual([
      ['a1', 500, 500],
      ['a2', 600, 500],
      ['a4', 400, 400],
      ['a5', 400, 300],
      ['a6', 900, 700],
    ]);
    expect(d.capsApplied).toEqual([
      { applicationId: 'a2', cap: 'region', key: 'seoul', limit: 1000, before: 600, after: 500 },
      { applicationId: 'a3', cap: 'region', key: 'seoul', limit: 1000, before: 300, after: 0 },
      { applicationId: 'a5', cap: 'organisation', key: 'org-big', limit: 700, before: 400, after: 300 },
      { applicationId: 'a6', cap: 'request', key: 'a6', limit: 800, before: 900, after: 800 },
      { applicationId: 'a6', cap: 'organisation', key: 'org-a6', limit: 700, before: 800, after: 700 },
    ]);
    expect(d.notFunded).toEqual({ cap: ['a3'] });
    expect(types(sc.events.slice(-3))).toEqual(['ReviewRoundClosed', 'FundingPoolsAllocated', 'SelectionProposed']); // no pool ran out
  });

  it('pools by sector and GPU type: GPUs for companies, GPU-hours for universities at the grant period’s hours per GPU; an applicant no pool takes is not funded', () => {
    const hours = (Date.parse('2027-07-04T09:00:00.000Z') - Date.parse(T0)) / 3_600_000; // P6M from the call's opening
    const universities = { id: 'universities', budget: { gpuHours: hours * 300 }, leadTypes: ['university'], gpuType: 'B200' };
    const sc = toPooledSelection(fundedPolicy({ pools: [companies, universities], award: 'full_or_nothing' }), [
      { id: 'a1', gpus: 700 },
      { id: 'a2', type: 'university', gpus: 200 },
      { id: 'a3', type: 'public_body', gpus: 100 },
      { id: 'a4', type: 'university', gpus: 150 },
      { id: 'a5', gpus: 400 },
    ]);
    const d = sc.last('FundingPoolsAllocated').data;
    expect(d.hoursPerGpu).toBe(hours);
    expect(d.awards.map((a) => [a.applicationId, a.poolId, a.awarded, a.cost, a.gpus])).toEqual([
      ['a1', 'companies', 700, 700, [{ type: 'H100', count: 700 }]],
      ['a2', 'universities', 200, 200 * hours, [{ type: 'B200', count: 200 }]],
      ['a5', 'companies', 400, 400, [{ type: 'H100', count: 400 }]],
    ]);
    expect(d.notFunded).toEqual({ no_pool: ['a3'], pool_exhausted: ['a4'] });
    const exhausted = sc.events.filter((e) => e.type === 'PoolExhausted');
    expect(exhausted.map((e) => e.data)).toEqual([expect.objectContaining({ poolId: 'universities', budget: { gpuHours: hours * 300 }, used: 200 * hours, notFunded: ['a4'] })]);
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    expect(sc.running.grants.a2.gpus).toEqual([{ type: 'B200', count: 200 }]);
  });

  it('a grant period shorter than an hour costs a GPU-hour per GPU (a started hour counts)', () => {
    const pool = { ...companies, budget: { gpuHours: 250 } };
    const sc = toPooledSelection(fundedPolicy({ pools: [pool], award: 'full_or_nothing' }, {}, { duration: 'PT30M' }), asking(200, 100));
    const d = sc.last('FundingPoolsAllocated').data;
    expect(d.hoursPerGpu).toBe(1);
    expect(d.awards.map((a) => [a.applicationId, a.cost])).toEqual([['a1', 200]]);
    expect(sc.last('PoolExhausted').data).toMatchObject({ used: 200, notFunded: ['a2'] });
  });

  it('at 1,000 applications, the events the review deadline causes stay within the 256 KB payload budget', () => {
    const pool = { ...companies, budget: { gpus: 5_000 } };
    const applicants = Array.from({ length: 1_000 }, (_, i) => ({ id: `a${i + 1}`, gpus: 1 + (i % 700), region: `region-${i % 17}` }));
    const sc = toPooledSelection(fundedPolicy({ pools: [pool], award: 'partial', caps: { perRegion: 2_000 } }, { maxAwardees: 1_000 }), applicants);
    const fired = sc.events.slice(sc.events.findIndex((e) => e.type === 'ReviewRoundClosed'));
    expect(types(fired)).toEqual(['ReviewRoundClosed', 'FundingPoolsAllocated', 'PoolExhausted', 'SelectionProposed']);
    const allocated = sc.last('FundingPoolsAllocated').data;
    expect(allocated.fundable).toHaveLength(1_000);
    expect(allocated.awards.length + Object.values(allocated.notFunded).flat().length).toBe(1_000);
    expect(sc.last('PoolExhausted').data.notFunded.length).toBeGreaterThan(500);
    expect(JSON.stringify(fired).length).toBeLessThan(256 * 1024);
  });

  it('maxAwardees still bounds the number of awards', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [{ ...companies, budget: { gpus: 10_000 } }], award: 'full_or_nothing' }, { maxAwardees: 3 }), asking(100, 100, 100, 100));
    expect(sc.last('FundingPoolsAllocated').data.notFunded).toEqual({ seats: ['a4'] });
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2', 'a3']);
  });

  it('with funding tiers, the tiers decide who is fundable and the pools how much', () => {
    const policy = fundedPolicy({ pools: [companies], award: 'full_or_nothing' }, { maxAwardees: 4, fundingTiers: { fundAtOrAbove: 75, rejectBelow: 35 } });
    const sc = toPooledSelection(policy, asking(500, 500, 500, 500, 500, 500, 500, 500, 500, 500));
    const draw = sc.last('FundingLotteryDrawn').data;
    const allocated = sc.last('FundingPoolsAllocated').data;
    expect(types(sc.events.slice(-4))).toEqual(['FundingLotteryDrawn', 'FundingPoolsAllocated', 'PoolExhausted', 'SelectionProposed']);
    expect(allocated.fundable).toEqual(['a1', 'a2', ...draw.drawnFunded]);
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2']);
    expect(sc.last('PoolExhausted').data.notFunded).toEqual(draw.drawnFunded);
  });

  it('a program manager may not override the selection with a team the pools did not fund', () => {
    const sc = toPooledSelection(fundedPolicy({ pools: [companies], award: 'full_or_nothing' }), asking(500, 600, 300, 100));
    const refused = sc.refuse({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a3'], rationale: 'a3 is strategic' } }, 'validation_failed');
    expect(refused).toMatchObject({ field: 'awardees', message: expect.stringContaining('"a3" has no award from the funding pools') });
    expect(types(sc.run({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a2'], rationale: 'a1 withdrew its plan' } }))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    expect(sc.last('GrantPeriodStarted').data.gpusByTeam).toEqual({ a2: [{ type: 'H100', count: 600 }] });
  });

  it('an application names a region in the id form, or none', () => {
    const sc = new Scenario();
    sc.run(openCallCommand(fundedPolicy({ pools: [companies], award: 'full_or_nothing' })));
    expect(sc.refuse(poolApplication({ id: 'a1', region: 'Seoul City' }), 'validation_failed').field).toBe('region');
    expect(sc.run(poolApplication({ id: 'a1', region: 'seoul' }))[0].data).toMatchObject({ region: 'seoul' });
    expect(sc.running.applications.a1.region).toBe('seoul');
  });

  it('without pools, nothing changes: no pool events, the grant stage’s amounts', () => {
    const sc = toPooledSelection(fundedPolicy(undefined as unknown as FundingPoolsPolicy), asking(500, 600));
    expect(sc.events.some((e) => e.type === 'FundingPoolsAllocated' || e.type === 'PoolExhausted')).toBe(false);
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2']);
  });
});

describe('budgets and pools: policy validation', () => {
  const refusal = (funding: Record<string, unknown>, grant: Record<string, unknown> = {}) => {
    try {
      fundedPolicy(funding, {}, grant);
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };

  it('refuses a pool named twice, a minimum award without partial awards, a budget in two units or none, and GPU-hours against a fixed end date', () => {
    expect(refusal({ pools: [companies, companies], award: 'full_or_nothing' })).toMatch(/stages\.2\.funding\.pools\.1\.id: pool "companies" appears twice/);
    expect(refusal({ pools: [companies], award: 'full_or_nothing', minimumAward: 10 })).toMatch(/stages\.2\.funding\.minimumAward: applies only when award is "partial"/);
    expect(refusal({ pools: [{ ...companies, budget: { gpus: 10, gpuHours: 10 } }], award: 'partial' })).toMatch(/stages\.2\.funding\.pools\.0\.budget/);
    expect(refusal({ pools: [{ ...companies, budget: { gpus: 0 } }], award: 'partial' })).toMatch(/stages\.2\.funding\.pools\.0\.budget/);
    expect(refusal({ pools: [], award: 'partial' })).toMatch(/at least one pool/);
    expect(refusal({ pools: [companies], award: 'pro_rata' })).toMatch(/stages\.2\.funding\.award/);
    expect(refusal({ pools: [{ ...companies, budget: { gpuHours: 1000 } }], award: 'partial' }, { duration: '2027-12-31T00:00:00.000Z' })).toMatch(/GPU-hour budget needs a grant period of a length/);
    expect(refusal({ pools: [{ ...companies, budget: { gpuHours: 1000 } }], award: 'partial', caps: { perRegion: 100 } })).toBe('accepted');
  });
});
