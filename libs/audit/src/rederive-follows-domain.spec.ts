/**
 * `rederive` holds no copy of the rules it checks: change a rule in libs/domain and its verdicts
 * change with it. Each case loads a fresh module registry in which one domain module is replaced
 * by a changed rule (as a release with a changed rule would ship it), then runs `rederive` and the
 * domain's own scenario driver from that registry.
 */
import { defaultPolicy, type CycleEvent } from '@concentra/domain';
import { openWithApplicants, pm, reviewAll } from '../../domain/src/cycle/testing';
import type * as Proposals from '../../domain/src/cycle/decision-rules';
import type * as Rank from '../../domain/src/scoring/rank';
import type * as Testing from '../../domain/src/cycle/testing';
import { rederive, type DecisionSource } from './rederive';

const cycleId = 'cycle:select-and-concentrate:2027';

type Loaded = { rederive: typeof rederive; testing: typeof Testing };

/** `rederive` and the scenario driver, loaded with the domain module at `path` replaced by `changed(actual)`. */
function underChangedRule<M extends object>(path: string, changed: (actual: M) => M): Loaded {
  let loaded: Loaded | undefined;
  jest.isolateModules(() => {
    jest.doMock(path, () => changed(jest.requireActual<M>(path)));
    try {
      loaded = { rederive: (require('./rederive') as { rederive: typeof rederive }).rederive, testing: require('../../domain/src/cycle/testing') as typeof Testing };
    } finally {
      jest.dontMock(path); // the replacement stays in this registry only, not in the next case's
    }
  });
  return loaded!;
}

/** The ranking rule turned around: the lowest total ranks first. */
const lowestFirst = (actual: typeof Rank): typeof Rank => ({
  ...actual,
  rank: (input) => {
    const result = actual.rank(input);
    return { ...result, ranking: [...result.ranking].reverse().map((candidate, i) => ({ ...candidate, position: i + 1 })) };
  },
});

/** A proposal naming one seat fewer than the stage allows. */
const oneSeatFewer = (actual: typeof Proposals): typeof Proposals => ({ ...actual, proposedOf: (candidates, seats) => actual.proposedOf(candidates, seats - 1) });

/** Call, review and the program manager's approval of the proposed selection, played by `testing`'s driver. */
function selectionYear(testing: Pick<typeof Testing, 'openWithApplicants' | 'reviewAll' | 'pm'>): DecisionSource[] {
  const sc = testing.openWithApplicants(defaultPolicy, 8);
  sc.fire('call_close');
  testing.reviewAll(sc);
  sc.fire('review_due');
  sc.run({ type: 'ApproveSelection', actor: testing.pm, data: { rationale: 'as ranked' } });
  return sc.events.map((e: CycleEvent, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: '2027-01-04T09:00:00.000Z' }));
}

const verdicts = (report: ReturnType<typeof rederive>) => report.decisions.map((d) => [d.decisionKey, d.ok]);
const differingFields = (report: ReturnType<typeof rederive>, key: string) => report.decisions.find((d) => d.decisionKey === key)!.differences.map((x) => x.field);

describe('rederive follows the domain rules it imports', () => {
  const recorded = selectionYear({ openWithApplicants, reviewAll, pm });

  it('under the rules in force, the recorded year re-derives clean', () => {
    expect(verdicts(rederive(recorded))).toEqual([
      ['review:1', true],
      ['selection', true],
    ]);
  });

  it('a changed ranking rule (libs/domain scoring/rank): the recorded selection no longer follows, and a year decided by the changed rule does', () => {
    const changed = underChangedRule<typeof Rank>(require.resolve('../../domain/src/scoring/rank'), lowestFirst);
    const report = changed.rederive(recorded);
    // The review round keeps everyone ranked, so only the order moved; the selection took the top five of the old order.
    expect(verdicts(report)).toEqual([
      ['review:1', true],
      ['selection', false],
    ]);
    expect(differingFields(report, 'selection')).toEqual(expect.arrayContaining(['ranking.order', 'awardees']));

    const decidedByChangedRule = selectionYear(changed.testing);
    const selected = decidedByChangedRule.find((e) => e.type === 'AwardeesSelected')!.data as { awardees: string[] };
    expect([...selected.awardees].sort()).toEqual(['a4', 'a5', 'a6', 'a7', 'a8']);
    expect(changed.rederive(decidedByChangedRule).ok).toBe(true);
    expect(verdicts(rederive(decidedByChangedRule))).toEqual([
      ['review:1', true],
      ['selection', false],
    ]);
  });

  it('a changed proposal rule (libs/domain cycle/decision-rules): a selection of the full five no longer follows its ranking', () => {
    const changed = underChangedRule<typeof Proposals>(require.resolve('../../domain/src/cycle/decision-rules'), oneSeatFewer);
    const report = changed.rederive(recorded);
    expect(verdicts(report)).toEqual([
      ['review:1', true],
      ['selection', false],
    ]);
    expect(report.decisions.find((d) => d.decisionKey === 'selection')!.differences).toEqual([
      { field: 'awardees', recorded: ['a1', 'a2', 'a3', 'a4', 'a5'], rederived: ['a1', 'a2', 'a3', 'a4'] },
    ]);
    expect(changed.rederive(selectionYear(changed.testing)).ok).toBe(true);
  });
});
