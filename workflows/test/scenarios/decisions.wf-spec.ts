/**
 * Evaluation and narrowing on the time-skipping test server, with real grants holding GPUs: a
 * pass/fail gate, a narrowing overridden, an upheld objection, and a three-round program.
 */
import { defaultPolicy, multiRoundExamplePolicy, type ProgramPolicy } from '@concentra/domain';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, cancelAndDrain, evaluateAll, expectAllReleased, procureAndRelease, toGrants, toNarrowing, waive } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, evaluator, pm } from '../../../libs/domain/src/cycle/testing';

// Next year's cycle is scheduled by default-year; here a closing cycle schedules none (see the report on
// the time-skipping server's internal error when a closing cycle starts next year's).
const once = (policy: ProgramPolicy): ProgramPolicy => ({ ...policy, repeatEvery: undefined });

describe('decision scenarios', () => {
  const harness = useCycleHarness();

  it('a pass/fail gate removes the top-ranked team; its GPUs go back and the others run to procurement', async () => {
    const run = await harness.start(once(defaultPolicy), { panel: PANEL });
    // evaluator-2 fails a1's model on safety: a1 ranks first on scores but the gate removes it.
    await toNarrowing(run, 3, (id, e) => (id === 'a1' && e === 2 ? 'fail' : 'pass'));
    const [proposed] = await run.eventsOf('NarrowingProposed');
    expect(proposed.data.result.removedByGate).toEqual([
      { candidateId: 'a1', positionBeforeGates: 1, total: expect.any(Number), failedGates: ['safety'], failScorers: [evaluator(2).subject] },
    ]);
    expect(proposed.data.proposed).toEqual(['a2', 'a3']);

    expect((await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } })).events).toEqual(['TeamsNarrowed']);
    expect((await run.eventsOf('TeamsNarrowed'))[0].data).toMatchObject({ kept: ['a2', 'a3'], dropped: ['a1'], plannedKeep: 2, overridden: false });
    expect((await waive(run, 'a1')).stage).toBe('extension');
    await run.untilEvents('TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted', 'GrantEnded');
    expect((await run.eventsOf('GrantEnded')).map((e) => [e.data.applicationId, e.data.reason])).toEqual([['a1', 'eliminated']]);
    await run.untilLive(['a2', 'a3']);

    expect((await run.passDeadline('extension_end')).stage).toBe('procurement');
    await procureAndRelease(run, ['a2', 'a3']);
    const outcome = await run.result();
    expect(outcome).toMatchObject({ stage: 'closed', nextCycleId: null });
    expect((await run.eventsOf('CycleClosed'))[0].data).toMatchObject({ outcome: 'completed', finalists: ['a2', 'a3'] });
    await expectAllReleased(run);
    expect((await run.eventsOf('GrantEnded')).map((e) => [e.data.applicationId, e.data.reason]).sort()).toEqual([
      ['a1', 'eliminated'],
      ['a2', 'completed'],
      ['a3', 'completed'],
    ]);
    await recordHistoryFixture(run.handle, 'gate-removes-top-team');
  });

  it('a narrowing overridden to drop more than planned records the planned and decided numbers and the rationale', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toNarrowing(run, 3);
    const result = await run.send({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 1, rationale: 'only a1 meets the sovereign-capability bar' } });
    expect(result).toMatchObject({ events: ['TeamsNarrowed'], stage: 'objection' });
    const [narrowed] = await run.eventsOf('TeamsNarrowed');
    expect(narrowed.data).toMatchObject({
      plannedKeep: 2,
      kept: ['a1'],
      dropped: ['a2', 'a3'],
      overridden: true,
      rationale: 'only a1 meets the sovereign-capability bar',
      approval: { by: 'pm-1', rationale: 'only a1 meets the sovereign-capability bar' },
    });
    await waive(run, 'a2');
    expect((await waive(run, 'a3')).events).toEqual(['ObjectionWaived', 'ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'GrantExtended', 'ExtensionStarted']);
    await run.untilEvents('GrantEnded', 'GrantEnded');
    await run.untilLive(['a1']);
    expect((await run.eventsOf('ExtensionStarted'))[0].data.finalists).toEqual(['a1']);

    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'narrowing-override-drops-more');
  });

  it('an upheld objection re-runs the decision, which opens a new window', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toNarrowing(run, 3);
    await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    expect((await run.eventsOf('TeamsNarrowed'))[0].data.dropped).toEqual(['a3']);
    await run.send({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'our benchmark run used the wrong split' } });

    const decided = await run.send({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a3', upheld: true, reasoning: 'the wrong split was used' } });
    expect(decided).toMatchObject({ events: ['ObjectionDecided', 'NarrowingProposed'], stage: 'narrowing' });
    const proposals = await run.eventsOf('NarrowingProposed');
    expect(proposals.map((p) => p.data.rerun)).toEqual([false, true]);
    // Nobody is eliminated yet: every grant still holds its GPUs while the decision is re-made.
    await run.untilLive(['a1', 'a2', 'a3']);

    await run.send({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keep: ['a1', 'a3'], rationale: 'a3 re-benchmarked on the correct split beats a2' } });
    const narrowings = await run.eventsOf('TeamsNarrowed');
    expect(narrowings.map((n) => n.data.dropped)).toEqual([['a3'], ['a2']]);
    expect(narrowings[1].data.objectionWindowEndsAt).not.toBe(narrowings[0].data.objectionWindowEndsAt);
    expect((await waive(run, 'a2')).stage).toBe('extension');
    await run.untilEvents('TeamEliminated', 'ExtensionStarted', 'GrantEnded');
    expect((await run.eventsOf('TeamEliminated')).map((e) => e.data.applicationId)).toEqual(['a2']);
    await run.untilLive(['a1', 'a3']);

    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'upheld-objection');
  });

  it('a three-round program narrows 5 → 4 → 3 → 2 and closes, releasing one team per round', async () => {
    const run = await harness.start(once(multiRoundExamplePolicy), { panel: PANEL });
    const awardees = await toGrants(run, 5);
    expect(awardees).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');

    let live = awardees;
    for (const round of [1, 2, 3]) {
      const opened = await run.eventsOf('EvaluationRoundOpened');
      expect(opened.at(-1)!.data).toMatchObject({ round, teams: live });
      await evaluateAll(run, round, live);
      await run.passDeadline('evaluation_submission_due');
      expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');
      await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round } });
      const narrowed = (await run.eventsOf('TeamsNarrowed')).at(-1)!.data;
      expect(narrowed).toMatchObject({ round, kept: live.slice(0, -1), dropped: live.slice(-1) });
      await waive(run, narrowed.dropped[0]);
      live = narrowed.kept;
      await run.untilLive(live);
    }
    expect(live).toEqual(['a1', 'a2']);
    expect((await run.status()).stage).toBe('extension');

    expect((await run.passDeadline('extension_end')).stage).toBe('procurement');
    await procureAndRelease(run, live);
    const outcome = await run.result();
    expect(outcome).toMatchObject({ stage: 'closed', nextCycleId: null });
    await expectAllReleased(run);
    expect((await run.eventsOf('TeamsNarrowed')).map((e) => e.data.kept.length)).toEqual([4, 3, 2]);
    const ended = (await run.eventsOf('GrantEnded')).map((e) => [e.data.applicationId, e.data.reason]);
    // One team per round, in round order; the two finalists' grants end together, in either order.
    expect(ended.slice(0, 3)).toEqual([
      ['a5', 'eliminated'],
      ['a4', 'eliminated'],
      ['a3', 'eliminated'],
    ]);
    expect(ended.slice(3).sort()).toEqual([
      ['a1', 'completed'],
      ['a2', 'completed'],
    ]);
    await recordHistoryFixture(run.handle, 'three-round-program');
  });
});
