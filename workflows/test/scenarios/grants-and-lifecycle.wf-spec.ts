/**
 * Grants and the cycle's life on the time-skipping test server: a team withdrawing mid-grant, a
 * cycle cancelled by Update and from outside, refill calls, and continue-as-new.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure, defaultPayloadConverter } from '@temporalio/common';
import { defaultPolicy, evolveAll, type CycleEvent } from '@concentra/domain';
import { grantStatusQuery } from '@concentra/workflows/contracts';
import type { CycleCarry } from '@concentra/workflows/program-cycle.workflow';
import { useCycleHarness, type CycleRun } from '../cycle-harness';
import { PANEL, application, byRank, cancelAndDrain, expectAllReleased, reviewAll, toGrants, toNarrowing, waive } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, pm, refillPolicy } from '../../../libs/domain/src/cycle/testing';

const DAY = 86_400_000;


describe('grant and lifecycle scenarios', () => {
  const harness = useCycleHarness();

  const endings = async (run: CycleRun) => (await run.eventsOf('GrantEnded')).map((e) => [e.data.applicationId, e.data.reason]).sort();

  it('a team withdrawing mid-grant has its GPUs released and is left out of the evaluation', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    await harness.sleepUntil((await harness.env.currentTimeMs()) + 60 * DAY);
    expect((await run.status()).stage).toBe('grant');

    const withdrawn = await run.send({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3', reason: 'merged with another lab' } });
    expect(withdrawn.events).toEqual(['ApplicationWithdrawn']);
    await run.untilEvents('ApplicationWithdrawn', 'GrantEnded');
    expect(await endings(run)).toEqual([['a3', 'withdrawn']]);
    await run.untilLive(['a1', 'a2']);
    const a3 = (await run.allocations()).find((a) => a.grantId === run.grantId('a3'))!;
    expect(a3).toMatchObject({ status: 'released', releasedReason: 'withdrawn' });
    const grantHandle = harness.env.client.workflow.getHandle(run.grantId('a3'));
    expect(await grantHandle.result()).toMatchObject({ releaseReason: 'withdrawn', allocationId: a3.allocationId });

    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
    expect((await run.eventsOf('EvaluationRoundOpened'))[0].data.teams).toEqual(['a1', 'a2']);
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'withdraw-mid-grant');
    await recordHistoryFixture(grantHandle, 'grant-withdrawn');
  });

  it('a cycle cancelled mid-grant by the CancelCycle Update releases everything and completes', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    await harness.sleepUntil((await harness.env.currentTimeMs()) + 30 * DAY);
    await cancelAndDrain(run, 'budget withdrawn by parliament');
    expect((await run.eventsOf('CycleCancelled'))[0].data).toMatchObject({ reason: 'budget withdrawn by parliament', by: 'pm-1', stage: 'grant' });
    expect(await endings(run)).toEqual(['a1', 'a2', 'a3'].map((id) => [id, 'cancelled']));
    expect((await run.allocations()).map((a) => a.releasedReason)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    await recordHistoryFixture(run.handle, 'cancel-cycle-update');
  });

  it('a cycle cancelled from outside (handle.cancel) records it and gives back every GPU in non-cancellable cleanup', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await toGrants(run, 3);
    await run.handle.cancel();
    const error: unknown = await run.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect((error as WorkflowFailedError).cause).toBeInstanceOf(CancelledFailure);
    expect((await run.handle.describe()).status.name).toBe('CANCELLED');

    const [cancelled] = await run.eventsOf('CycleCancelled');
    expect(cancelled.data).toMatchObject({ reason: 'workflow cancelled by an operator', by: 'workflow', stage: 'grant' });
    expect(cancelled.metadata).toMatchObject({ actor: { role: 'system' } });
    expect(await endings(run)).toEqual(['a1', 'a2', 'a3'].map((id) => [id, 'cancelled']));
    await expectAllReleased(run);
    await recordHistoryFixture(run.handle, 'cancel-from-outside');
  });

  /** Three teams; the first narrowing keeps two where three were planned: one seat is vacant and a refill call opens. */
  async function toRefill(run: CycleRun): Promise<void> {
    await toNarrowing(run, 3);
    await run.send({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 2, rationale: 'a3 is not ready' } });
    const waived = await waive(run, 'a3');
    expect(waived.events.slice(-1)).toEqual(['RefillCallOpened']);
    expect(waived.stage).toBe('refill');
    await run.untilLive(['a1', 'a2']);
    expect((await run.eventsOf('RefillCallOpened'))[0].data).toMatchObject({ seats: 1, openTo: { newcomers: true, eliminatedTeams: true } });
  }

  it('a refill call adds a team mid-program: a newcomer is selected and its grant gets GPUs', async () => {
    const run = await harness.start(refillPolicy, { panel: PANEL });
    await toRefill(run);
    await run.send(application('n1'));
    await run.send({ type: 'SubmitApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3-refill', title: 'Second try', lead: { organisationId: 'org-a3', name: 'Org a3', type: 'company' }, members: [] } });
    await run.passDeadline('refill_close');
    expect((await run.eventsOf('RefillCallClosed'))[0].data.applications).toEqual(['n1', 'a3-refill']);
    await reviewAll(run, ['n1', 'a3-refill'], byRank, [1, 2, 3], 'refill');
    expect((await run.passDeadline('refill_review_due')).owed.count).toBe(1);
    expect(await run.owed()).toEqual([expect.objectContaining({ what: 'refill_selection' })]);
    expect((await run.eventsOf('RefillRankingProposed'))[0].data.proposed).toEqual(['n1']);

    const selected = await run.send({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: ['n1'], rationale: 'best of the refill call' } });
    expect(selected).toMatchObject({ events: ['RefillEntrantsSelected', 'EvaluationRoundOpened'], stage: 'evaluation' });
    const [entrants] = await run.eventsOf('RefillEntrantsSelected');
    expect(entrants.data).toMatchObject({ entrants: ['n1'], notSelected: ['a3-refill'], shiftLaterStagesBy: 'P30D' });
    const round2 = (await run.eventsOf('EvaluationRoundOpened'))[1].data;
    expect(round2.teams).toEqual(['a1', 'a2', 'n1']);
    // 30 days of shift plus the 14 days the round gives for submissions.
    expect(Date.parse(round2.submissionDueAt) - Date.parse(round2.openedAt)).toBe(44 * DAY);
    const started = await run.untilEvents('RefillEntrantsSelected', 'GrantStarted');
    expect(started.filter((e) => e.type === 'GrantStarted').at(-1)!.data).toMatchObject({ applicationId: 'n1', grantId: run.grantId('n1') });
    const live = await run.untilLive(['a1', 'a2', 'n1']);
    expect(live.find((a) => a.grantId === run.grantId('n1'))).toMatchObject({ organisationId: 'org-n1', status: 'active' });

    await cancelAndDrain(run);
    expect(await endings(run)).toEqual([['a1', 'cancelled'], ['a2', 'cancelled'], ['a3', 'eliminated'], ['n1', 'cancelled']]);
    await recordHistoryFixture(run.handle, 'refill-adds-team');
  });

  it('a refill call that selects none: nobody applies, the program goes on with the teams it has', async () => {
    const run = await harness.start(refillPolicy, { panel: PANEL });
    await toRefill(run);
    await run.passDeadline('refill_close');
    expect((await run.types()).slice(-3)).toEqual(['RefillCallClosed', 'RefillEntrantsSelected', 'EvaluationRoundOpened']);
    expect((await run.eventsOf('RefillEntrantsSelected'))[0].data).toMatchObject({ entrants: [], approval: 'policy default', shiftLaterStagesBy: null });
    expect((await run.eventsOf('EvaluationRoundOpened'))[1].data.teams).toEqual(['a1', 'a2']);
    await run.untilLive(['a1', 'a2']);
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'refill-selects-none');
  });

  it('continues as new every few events and carries on with the same state and event sequence', async () => {
    // Ten events per run: the cycle continues as new during the reviews, around the selection and
    // while grants report back. (No clock skip after a continue-as-new with grants running: the
    // time-skipping server then stops skipping; see the report.)
    const run = await harness.start(defaultPolicy, { panel: PANEL, tuning: { eventsPerRun: 10 } });
    run.settleBeforeSend = true;
    await toGrants(run, 3);
    await run.send({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } });
    await run.untilLive(['a1', 'a2']);
    await run.untilEvents('ApplicationWithdrawn', 'GrantEnded');
    await run.send({ type: 'CancelCycle', actor: pm, data: { reason: 'continue-as-new scenario over' } });
    const outcome = await run.result();
    expect(outcome.stage).toBe('cancelled');

    // Many runs, one cycle; each carry is what the recorded events fold to.
    const runs: string[] = [];
    const carries: CycleCarry[] = [];
    let runId: string | undefined = run.handle.firstExecutionRunId;
    while (runId) {
      runs.push(runId);
      const history: Awaited<ReturnType<typeof run.handle.fetchHistory>> = await harness.env.client.workflow.getHandle(run.id, runId).fetchHistory();
      const continued = history.events!.at(-1)!.workflowExecutionContinuedAsNewEventAttributes;
      if (continued) carries.push(defaultPayloadConverter.fromPayload(continued.input!.payloads![1]));
      runId = continued?.newExecutionRunId ?? undefined;
    }
    expect(runs.length).toBeGreaterThanOrEqual(3);

    // One gap-free, hash-chained event sequence across the runs, numbered by the carried sequence.
    const events = await run.events();
    expect(outcome.eventsRecorded).toBe(events.length);
    expect(events.map((e) => e.eventId)).toEqual(events.map((_, i) => `${run.id}#${i + 1}`));
    events.slice(1).forEach((e, i) => expect(e.prevHash).toBe(events[i].hash));
    expect(events.at(-1)!.type).toBe('GrantEnded');

    // The state each run handed the next is exactly what the events recorded until then fold to.
    const fold = (n: number) => JSON.parse(JSON.stringify(evolveAll(events.slice(0, n).map((e) => ({ type: e.type, data: e.data }) as unknown as CycleEvent))));
    for (const carry of carries) expect(carry.state).toEqual(fold(carry.sequence));
    await expectAllReleased(run);
    expect(await endings(run)).toEqual([['a1', 'cancelled'], ['a2', 'cancelled'], ['a3', 'withdrawn']]);
    // Grants outlived the runs that started them and reported to whichever run was current.
    expect(await harness.env.client.workflow.getHandle(run.grantId('a1')).query(grantStatusQuery)).toMatchObject({ releaseReason: 'cancelled' });
    // The fixture is the first run: it holds the call's opening (policy, seed) that re-derivation
    // starts from, and ends in the continue-as-new that replay must reproduce.
    await recordHistoryFixture(harness.env.client.workflow.getHandle(run.id, run.handle.firstExecutionRunId), 'continue-as-new');
  });
});
