import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { addDays } from '../shared/time';
import type { CycleCommand } from './commands';
import { Scenario, T0, applicationCommand, appIds, openCallCommand, pm, reviewAll, types } from './testing';

/** Totals by the default scores: a1 90, a2 80, ... a9 10, a10 0. Top band ≥ 75 (a1, a2), bottom < 35 (a7..a10), a3..a6 in the middle. */
function tieredPolicy(tiers: { fundAtOrAbove: number; rejectBelow: number }, maxAwardees = 4) {
  return parsePolicy({
    ...defaultPolicyDocument,
    stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'selection' ? { ...s, minAwardees: 2, maxAwardees, fundingTiers: tiers } : s)),
  });
}

function toSelection(policy = tieredPolicy({ fundAtOrAbove: 75, rejectBelow: 35 }), lotterySeed = 'published-seed-2027'): Scenario {
  const sc = new Scenario();
  const open = openCallCommand(policy) as Extract<CycleCommand, { type: 'OpenCall' }>;
  sc.run({ ...open, data: { ...open.data, lotterySeed } });
  appIds(10).forEach((id, i) => {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run(applicationCommand(id));
  });
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  return sc;
}

const middle = ['a3', 'a4', 'a5', 'a6'];
const bottom = ['a7', 'a8', 'a9', 'a10'];

describe('funding tiers with partial randomisation', () => {
  it('given bands at 75 and 35 and four awards, when the review round closes, then the top band is funded, the bottom is not, and a recorded draw gives the middle band the two awards left', () => {
    const sc = toSelection();
    expect(types(sc.events.slice(-3))).toEqual(['ReviewRoundClosed', 'FundingLotteryDrawn', 'SelectionProposed']);
    const draw = sc.last('FundingLotteryDrawn').data;
    expect(draw).toMatchObject({ decisionKey: 'selection', fundAtOrAbove: 75, rejectBelow: 35, seats: 4, fundedOutright: ['a1', 'a2'], band: middle, seed: 'published-seed-2027:selection:funding' });
    expect([...draw.order].sort()).toEqual([...middle].sort());
    expect(draw.drawnFunded).toEqual(draw.order.slice(0, 2));
    expect([...draw.notFunded].sort()).toEqual([...draw.order.slice(2), ...bottom].sort());
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2', ...draw.drawnFunded]);
    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: {} }))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    expect(sc.last('AwardeesSelected').data.awardees).toEqual(['a1', 'a2', ...draw.drawnFunded]);
  });

  it('the same seed gives the same awards', () => {
    const [first, second] = [toSelection(), toSelection()];
    expect(second.last('FundingLotteryDrawn').data).toEqual({ ...first.last('FundingLotteryDrawn').data, at: second.last('FundingLotteryDrawn').data.at });
    expect(second.last('SelectionProposed').data.proposed).toEqual(first.last('SelectionProposed').data.proposed);
  });

  it('another seed changes only who of the middle band is funded', () => {
    const base = toSelection().last('FundingLotteryDrawn').data;
    const others = ['seed-b', 'seed-c', 'seed-d', 'seed-e', 'seed-f'].map((seed) => toSelection(undefined, seed).last('FundingLotteryDrawn').data);
    for (const d of others) {
      expect(d.fundedOutright).toEqual(['a1', 'a2']);
      expect(d.band).toEqual(middle);
      expect(d.drawnFunded).toHaveLength(2);
      d.drawnFunded.forEach((id) => expect(middle).toContain(id));
      bottom.forEach((id) => expect(d.notFunded).toContain(id));
    }
    expect(others.some((d) => [...d.drawnFunded].sort().join() !== [...base.drawnFunded].sort().join())).toBe(true);
  });

  it('a top band larger than the budget is funded best first, and the draw funds nobody', () => {
    const sc = toSelection(tieredPolicy({ fundAtOrAbove: 45, rejectBelow: 25 }, 3));
    const d = sc.last('FundingLotteryDrawn').data;
    expect(d.fundedOutright).toEqual(['a1', 'a2', 'a3']);
    expect(d.band).toEqual(['a6', 'a7']);
    expect(d.drawnFunded).toEqual([]);
    expect(d.notFunded).toEqual(['a4', 'a5', 'a6', 'a7', 'a8', 'a9', 'a10']);
    expect(sc.last('SelectionProposed').data.proposed).toEqual(['a1', 'a2', 'a3']);
  });

  it('refuses band edges in the wrong order', () => {
    expect(() => tieredPolicy({ fundAtOrAbove: 30, rejectBelow: 60 })).toThrow(/fundingTiers.rejectBelow: must not be above fundAtOrAbove/);
  });
});
