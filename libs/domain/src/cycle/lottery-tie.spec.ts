import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { rank } from '../scoring/rank';
import { evolveAll } from './evolve';
import { roundSheets } from './sheets';
import { openWithApplicants, pm, reviewAll, types } from './testing';
import type { RunningCycle } from './state';

describe('a tie broken by the recorded lottery', () => {
  // No policy rule separates a5 and a6: the lottery decides who takes the fifth award.
  const policy = parsePolicy({
    ...defaultPolicyDocument,
    scoring: { ...defaultPolicyDocument.scoring, proposal: { ...defaultPolicyDocument.scoring.proposal, tieBreak: [{ by: 'criterion', criterion: 'technical' }] } },
  });
  const tied = (id: string) => (id === 'a6' ? { technical: 5, team: 5, impact: 5 } : { technical: Math.max(0, 10 - Number(id.slice(1))), team: 10 - Number(id.slice(1)), impact: 10 - Number(id.slice(1)) });

  function play() {
    const sc = openWithApplicants(policy, 6);
    sc.fire('call_close');
    reviewAll(sc, tied);
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    return sc;
  }

  it('records the seed and the draw with the decision, and the same seed gives the same draw', () => {
    const first = play();
    const selected = first.last('AwardeesSelected').data;
    expect(selected.lottery).toEqual({ seed: 'published-seed-2027:review:1', draw: [{ among: ['a5', 'a6'], order: expect.any(Array) }] });
    const order = selected.lottery!.draw[0].order;
    expect([...order].sort()).toEqual(['a5', 'a6']);
    expect(selected.awardees).toEqual(['a1', 'a2', 'a3', 'a4', order[0]]);
    expect(selected.tieBrokenBy[selected.ranking.find((id) => id === order[0])!]).toBe('lottery');

    const second = play();
    expect(second.last('AwardeesSelected').data.lottery).toEqual(selected.lottery);

    // An auditor re-derives the ranking from the recorded events alone.
    const state = evolveAll(first.events.slice(0, first.events.findIndex((e) => e.type === 'ReviewRoundClosed'))) as RunningCycle;
    const round = state.rounds['review:1'];
    const again = rank({
      scheme: state.policy.scoring.proposal,
      rulesVersion: state.rulesVersion,
      candidates: round.candidates.map((id) => ({ id, submittedAt: state.applications[id].submittedAt })),
      sheets: roundSheets(state, round),
      seed: 'published-seed-2027:review:1',
    });
    expect(again.lottery).toEqual(selected.lottery);
    expect(again.inputsHash).toBe(selected.inputsHash);
    expect(types(first.events).filter((t) => t === 'AwardeesSelected')).toHaveLength(1);
  });
});
