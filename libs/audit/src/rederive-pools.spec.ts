/** Budgets and pools (issue 15, item 4) re-derived by the auditor, and read as sentences. */
import { parsePolicy, type CycleEvent } from '@concentra/domain';
import { applicantOf, pm, T0 } from '../../domain/src/cycle/testing';
import { asking, companies, fundedPolicy, toPooledSelection } from '../../domain/src/cycle/pools-testing';
import { describeEvent } from './event-sentences';
import { rederive, type DecisionSource } from './rederive';

const cycleId = 'cycle:select-and-concentrate:2027';
const asStored = (events: CycleEvent[]): DecisionSource[] =>
  events.map((e, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: T0 }));
const tampered = (events: DecisionSource[], type: string, change: (d: Record<string, unknown>) => void) => {
  const copy = JSON.parse(JSON.stringify(events)) as DecisionSource[];
  change(copy.find((e) => e.type === type)!.data);
  return copy;
};

/** Companies' pool of 1,200 GPUs (partial awards) and a universities' pool of GPU-hours; a region cap. */
function pooledYear(): CycleEvent[] {
  const universities = { id: 'universities', budget: { gpuHours: 500_000 }, leadTypes: ['university'], gpuType: 'B200' };
  const policy = fundedPolicy({ pools: [companies, universities], award: 'partial', caps: { perRegion: 900 } });
  const sc = toPooledSelection(policy, [
    { id: 'a1', gpus: 500, region: 'seoul' },
    { id: 'a2', gpus: 600, region: 'seoul' },
    { id: 'a3', type: 'university', gpus: 100 },
    { id: 'a4', gpus: 400 },
    { id: 'a5', type: 'university', gpus: 100 },
    { id: 'a6', gpus: 100 },
  ]);
  sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
  return sc.events;
}

describe('re-deriving budgets and pools', () => {
  it('the allocation, each exhausted pool and the selection re-derive; a changed amount, a hidden exhaustion or a swapped awardee does not', () => {
    const events = asStored(pooledYear());
    const report = rederive(events);
    expect(report.decisions.map((d) => [d.decisionKey, d.kind, d.ok])).toEqual([
      ['review:1', 'review_round', true],
      ['selection:pools', 'funding_pools', true],
      ['selection:pool:companies', 'funding_pools', true],
      ['selection:pool:universities', 'funding_pools', true],
      ['selection', 'selection', true],
    ]);
    const allocated = events.find((e) => e.type === 'FundingPoolsAllocated')!.data as { awards: Array<{ applicationId: string; awarded: number }> };
    expect(allocated.awards.map((a) => [a.applicationId, a.awarded])).toEqual([['a1', 500], ['a2', 400], ['a3', 100], ['a4', 300], ['a5', 15]]);

    const inflated = rederive(tampered(events, 'FundingPoolsAllocated', (d) => ((d.awards as Array<{ awarded: number }>)[0].awarded = 900)));
    expect(inflated.decisions.find((d) => d.decisionKey === 'selection:pools')).toMatchObject({ ok: false, differences: [expect.objectContaining({ field: 'allocation' })] });
    const hidden = rederive(tampered(events, 'PoolExhausted', (d) => (d.notFunded = [])));
    expect(hidden.decisions.find((d) => d.decisionKey === 'selection:pool:companies')!.ok).toBe(false);
    const swapped = rederive(
      tampered(events, 'AwardeesSelected', (d) => {
        d.awardees = ['a1', 'a2', 'a3', 'a4', 'a6'];
        d.notSelected = ['a5'];
      }),
    );
    expect(swapped.decisions.find((d) => d.kind === 'selection')!.differences.map((x) => x.field)).toContain('awardees');
  });

  it('an upheld objection to the selection allocates again, and both allocations re-derive', () => {
    const policy = parsePolicy({ ...fundedPolicy({ pools: [companies], award: 'full_or_nothing' }), objections: { windowDays: 10, appliesTo: ['selection', 'narrowing'] } });
    const sc = toPooledSelection(policy, asking(500, 600, 300, 100));
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'the pool was sized wrongly' } });
    sc.run({ type: 'WithdrawApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1', reason: 'merged elsewhere' } });
    const rerun = sc.run({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a3', upheld: true, reasoning: 'a1 withdrew: allocate again' } });
    expect(rerun.map((e) => e.type)).toEqual(['ObjectionDecided', 'FundingPoolsAllocated', 'SelectionProposed']); // 1,000 of 1,200: the pool no longer runs out
    expect(sc.last('SelectionProposed').data).toMatchObject({ rerun: true, proposed: ['a2', 'a3', 'a4'] });
    expect(sc.running.applications.a1.gpusAwarded).toBeUndefined();
    expect(sc.running.applications.a3.gpusAwarded).toEqual([{ type: 'H100', count: 300 }]);
    const report = rederive(asStored(sc.events));
    expect(report.decisions.filter((d) => d.kind === 'funding_pools').map((d) => [d.decisionKey, d.ok])).toEqual([
      ['selection:pools', true],
      ['selection:pool:companies', true],
      ['selection:pools', true],
    ]);
    expect(report.ok).toBe(true);
  });

  it('the allocation and an exhausted pool read as sentences', () => {
    const events = pooledYear();
    const allocated = events.find((e) => e.type === 'FundingPoolsAllocated')!;
    const text = describeEvent(allocated.type, allocated.data as unknown as Record<string, unknown>);
    expect(text).toMatch(/^funding pools awarded GPUs to 5 of 6 fundable application\(s\) \(partial, \d+ hours per GPU\): pool "companies" used 1200 of 1200 GPUs and ran out, awarding a1 500, a2 400 of 600 asked, a4 300 of 400 asked; pool "universities" used \d+ of 500000 GPU-hours and ran out, awarding a3 100, a5 15 of 100 asked/);
    expect(text).toMatch(/caps applied: a2 cut from 600 to 400 by the region cap \(900 for seoul\); not funded: a6 \(pool exhausted\)$/);
    const exhausted = events.find((e) => e.type === 'PoolExhausted')!;
    expect(describeEvent(exhausted.type, exhausted.data as unknown as Record<string, unknown>)).toBe(
      'funding pool "companies" ran out (1200 of 1200 GPUs used) and stopped awarding; "a4" got the 300 GPUs left of the 400 it asked for; not funded because of it: a6',
    );
  });
});
