/**
 * Call, review and selection on the time-skipping test server: missing reviews, a program manager
 * who never approves, a lottery tie, refused commands and reminders. One test server, one bundle.
 */
import { defaultPolicy, defaultPolicyDocument, parsePolicy, type ProgramPolicy } from '@concentra/domain';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, applyAll, application, byRank, cancelAndDrain, expectRefused, reviewAll } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, pm, reviewer } from '../../../libs/domain/src/cycle/testing';

const DAY = 86_400_000;

describe('call and selection scenarios', () => {
  const harness = useCycleHarness();

  it('reviews missing at the deadline: extends once and escalates, then proceeds with the reviews present', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    await applyAll(run, 3);
    await run.passDeadline('call_close');
    await reviewAll(run, ['a1', 'a2']);
    await reviewAll(run, ['a3'], byRank, [1, 2]);

    const first = await run.status();
    const extended = await run.passDeadline('review_due');
    expect(extended.stage).toBe('review');
    const [extension] = await run.eventsOf('ReviewDeadlineExtended');
    expect(extension.data).toMatchObject({ previousDueAt: first.nextDeadline!.at, missing: [{ applicationId: 'a3', have: 2, need: 3 }] });
    // Extended by the policy's 7 days from when the timer was acted on (the same instant, give or take the timer's latency).
    expect(Date.parse(extension.data.dueAt) - Date.parse(first.nextDeadline!.at)).toBeGreaterThanOrEqual(7 * DAY);
    expect(Date.parse(extension.data.dueAt) - Date.parse(first.nextDeadline!.at)).toBeLessThan(7 * DAY + 60_000);
    expect(extended.nextDeadline).toEqual({ kind: 'review_due', at: extension.data.dueAt });
    const [escalation] = await run.eventsOf('EscalationRaised');
    expect(escalation.data).toMatchObject({ reason: 'scores_below_minimum', subject: 'review:1' });
    const escalations = await harness.poll('escalation in the outbox', async () => {
      const rows = await harness.outbox(run.id, 'escalation');
      return rows.length > 0 ? rows : undefined;
    });
    expect(escalations).toEqual([expect.objectContaining({ recipient: { role: 'program_manager' }, body: expect.objectContaining({ reason: 'scores_below_minimum' }) })]);

    // Still one review short after the extension: this policy proceeds with what is there.
    expect((await run.passDeadline('review_due')).stage).toBe('selection');
    const [closed] = await run.eventsOf('ReviewRoundClosed');
    expect(closed.data.result.ranking.find((r: { candidateId: string }) => r.candidateId === 'a3')).toMatchObject({ scoreCount: 2, belowMinimum: true });
    expect((await run.eventsOf('SelectionProposed'))[0].data.proposed).toEqual(['a1', 'a2', 'a3']);
    expect(await run.types()).toEqual([
      'CallOpened', 'ApplicationSubmitted', 'ApplicationSubmitted', 'ApplicationSubmitted', 'CallClosed', 'ReviewRoundOpened',
      ...Array(8).fill('ReviewSubmitted'), 'ReviewDeadlineExtended', 'EscalationRaised', 'ReviewRoundClosed', 'SelectionProposed',
    ]);
    await cancelAndDrain(run);
    expect(await run.allocations()).toEqual([]);
    await recordHistoryFixture(run.handle, 'reviews-missing-at-deadline');
  });

  it('a program manager who never approves: the policy default applies at approvalDue and the grants start', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    const ids = await applyAll(run, 3);
    await run.passDeadline('call_close');
    await reviewAll(run, ids);
    const selection = await run.passDeadline('review_due');
    expect(selection.stage).toBe('selection');
    expect(selection.owed).toEqual({ count: 1, nextDueAt: expect.any(String) });
    expect(await run.owed()).toEqual([expect.objectContaining({ who: { role: 'program_manager' }, what: 'selection_approval', deadline: 'selection_approval_due' })]);
    const proposed = (await run.eventsOf('SelectionProposed'))[0].data;
    expect(selection.nextDeadline).toEqual({ kind: 'selection_approval_due', at: proposed.approvalDueAt });

    expect((await run.passDeadline('selection_approval_due')).stage).toBe('grant');
    const [selected] = await run.eventsOf('AwardeesSelected');
    expect(selected.data).toMatchObject({ approval: 'policy default', overridden: false, awardees: ['a1', 'a2', 'a3'] });
    expect(Date.parse(selected.data.decidedAt)).toBeGreaterThanOrEqual(Date.parse(proposed.approvalDueAt));
    expect(selected.metadata).toMatchObject({ actor: { role: 'system' }, causationId: 'DeadlinePassed' });
    await run.untilEvents('GrantPeriodStarted', 'GrantStarted', 'GrantStarted', 'GrantStarted');
    expect((await run.untilLive(ids)).map((a) => a.requested)).toEqual(ids.map(() => expect.objectContaining({ alternatives: [{ type: 'H100', count: 512 }] })));

    await cancelAndDrain(run, 'ministry froze the budget');
    await recordHistoryFixture(run.handle, 'pm-never-approves');
  });

  describe('a tie broken by the recorded lottery', () => {
    // a2 and a3 score the same on every criterion and no policy rule separates them: two seats, the lottery gives the second.
    const policy: ProgramPolicy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) =>
        s.kind === 'selection' ? { ...s, minAwardees: 2, maxAwardees: 2 } : s.kind === 'evaluation' ? { ...s, narrowing: { ...s.narrowing, keep: 1 } } : s,
      ),
      scoring: { ...defaultPolicyDocument.scoring, proposal: { ...defaultPolicyDocument.scoring.proposal, tieBreak: [{ by: 'criterion', criterion: 'technical' }] } },
    });
    const tied = (id: string) => (id === 'a1' ? { technical: 9, team: 9, impact: 9 } : { technical: 7, team: 7, impact: 7 });

    async function toSelection(seed: string) {
      const run = await harness.start(policy, { panel: PANEL, lotterySeed: seed });
      const ids = await applyAll(run, 3);
      await run.passDeadline('call_close');
      await reviewAll(run, ids, tied);
      expect((await run.passDeadline('review_due')).stage).toBe('selection');
      return run;
    }

    it('records the seed and the draw with the decision; the same seed gives the same draw', async () => {
      const first = await toSelection('published-seed-2027');
      const [closed] = await first.eventsOf('ReviewRoundClosed');
      const lottery = closed.data.result.lottery;
      expect(lottery).toEqual({ seed: 'published-seed-2027:review:1', draw: [{ among: ['a2', 'a3'], order: expect.any(Array) }] });
      const winner = lottery.draw[0].order[0] as string;
      expect([...lottery.draw[0].order].sort()).toEqual(['a2', 'a3']);

      const approved = await first.send({ type: 'ApproveSelection', actor: pm, data: {} });
      expect(approved.events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
      const [selected] = await first.eventsOf('AwardeesSelected');
      expect(selected.data).toMatchObject({ awardees: ['a1', winner], lottery });
      expect(selected.data.tieBrokenBy[winner]).toBe('lottery');
      await first.untilLive(['a1', winner]);

      // Another cycle published with the same seed: the same scores draw the same order.
      const second = await toSelection('published-seed-2027');
      expect((await second.eventsOf('ReviewRoundClosed'))[0].data.result.lottery).toEqual(lottery);
      expect((await second.eventsOf('SelectionProposed'))[0].data.proposed).toEqual(['a1', winner]);

      await cancelAndDrain(first);
      await cancelAndDrain(second);
      await recordHistoryFixture(first.handle, 'lottery-tie');
    });
  });

  it('refuses late, duplicate, other-organisation and conflicted commands with a DomainError, recording nothing', async () => {
    // reviewer-3 works for uni-1, a member of a2's consortium.
    const panel = { reviewers: [PANEL.reviewers[0], PANEL.reviewers[1], { subject: 'reviewer-3', organisationId: 'uni-1' }], evaluators: PANEL.evaluators };
    const run = await harness.start(defaultPolicy, { panel });
    await run.send(application('a1'));
    await run.send(application('a2', [{ organisationId: 'uni-1', name: 'University 1', type: 'university' }]));

    const unchanged = async (refusals: () => Promise<void>) => {
      const [events, status] = [(await run.events()).length, await run.status()];
      await refusals();
      expect((await run.events()).length).toBe(events);
      expect((await run.status()).eventsRecorded).toBe(status.eventsRecorded);
    };

    await unchanged(async () => {
      await expectRefused(run, application('a1'), 'duplicate');
      await expectRefused(run, { type: 'SubmitApplication', actor: applicantOf('org-x'), data: { applicationId: 'a9', title: 'for someone else', lead: { organisationId: 'org-y', name: 'Y', type: 'company' }, members: [] } }, 'forbidden');
      await expectRefused(run, { type: 'WithdrawApplication', actor: applicantOf('org-a2'), data: { applicationId: 'a1' } }, 'forbidden');
      await expectRefused(run, { type: 'CancelCycle', actor: applicantOf('org-a1'), data: { reason: 'we would rather not' } }, 'forbidden');
    });

    await run.passDeadline('call_close');
    await run.send({ type: 'SubmitReview', actor: reviewer(1), data: { reviewId: 'r1-a1', applicationId: 'a1', scores: byRank('a1', 1), conflictOfInterest: { declared: false } } });
    await unchanged(async () => {
      await expectRefused(run, application('a3'), 'deadline_passed');
      await expectRefused(run, { type: 'SubmitReview', actor: reviewer(1), data: { reviewId: 'r1-a1-again', applicationId: 'a1', scores: byRank('a1', 1), conflictOfInterest: { declared: false } } }, 'duplicate');
      await expectRefused(run, { type: 'SubmitReview', actor: { ...reviewer(3), organisationId: undefined }, data: { reviewId: 'r3-a2', applicationId: 'a2', scores: byRank('a2', 3), conflictOfInterest: { declared: false } } }, 'conflict_of_interest');
      await expectRefused(run, { type: 'SubmitReview', actor: reviewer(2), data: { reviewId: 'r2-a1', applicationId: 'a1', scores: byRank('a1', 2), conflictOfInterest: { declared: true, note: 'former employer' } } }, 'conflict_of_interest');
      await expectRefused(run, { type: 'ApproveSelection', actor: pm, data: {} }, 'invalid_state');
    });

    // The same reviewer may still score an application without a conflict.
    expect((await run.send({ type: 'SubmitReview', actor: reviewer(3), data: { reviewId: 'r3-a1', applicationId: 'a1', scores: byRank('a1', 3), conflictOfInterest: { declared: false } } })).events).toEqual(['ReviewSubmitted']);
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'rejected-commands');
  });

  it('writes reminders to the outbox once each, at the policy offsets, to those who still owe', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    const ids = await applyAll(run, 2);
    const review = await run.passDeadline('call_close');
    const dueAt = review.nextDeadline!.at;
    await reviewAll(run, ids, byRank, [1]);
    const reminders = () => harness.outbox(run.id, 'reminder');
    const remindersCount = async (n: number) => harness.poll(`${n} reminders`, async () => ((await reminders()).length === n ? reminders() : undefined), reminders);

    await harness.sleepUntil(Date.parse(dueAt) - 7 * DAY - 3_600_000);
    expect(await reminders()).toEqual([]);
    await harness.sleepUntil(Date.parse(dueAt) - 7 * DAY + 60_000);
    const sevenDays = await remindersCount(2);
    const key = (offset: string, n: number) => `${run.id}:reminder:review_due:${dueAt}:${offset}:reviewer/reviewer-${n}/review-org-${n}`;
    expect(sevenDays.map((r) => r.key).sort()).toEqual([key('P7D', 2), key('P7D', 3)]);
    expect(sevenDays[0]).toMatchObject({ dueAt, body: { deadline: 'review_due', dueAt, items: ids.map((id) => ({ what: 'review', applicationId: id })) } });

    // reviewer-2 catches up; only reviewer-3 hears again the day before.
    await reviewAll(run, ids, byRank, [2]);
    await harness.sleepUntil(Date.parse(dueAt) - DAY + 60_000);
    const oneDay = await remindersCount(3);
    expect(oneDay.map((r) => r.key).slice(2)).toEqual([key('P1D', 3)]);

    await reviewAll(run, ids, byRank, [3]);
    const selection = await run.passDeadline('review_due');
    const approvalDue = selection.nextDeadline!.at;
    // The 7-day reminder for the approval fell on the moment the proposal was made: only the 1-day one is due.
    await harness.sleepUntil(Date.parse(approvalDue) - DAY + 60_000);
    const all = await remindersCount(4);
    expect(all[3]).toMatchObject({ key: `${run.id}:reminder:selection_approval_due:${approvalDue}:P1D:program_manager//`, recipient: { role: 'program_manager' } });

    // Once each: the workflow scheduled exactly one outbox write per reminder.
    const history = await run.handle.fetchHistory();
    const writes = history
      .events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'enqueueNotification')
      .map((e) => JSON.parse(Buffer.from(e.activityTaskScheduledEventAttributes!.input!.payloads![0].data!).toString('utf8')) as { key: string; kind: string })
      .filter((n) => n.kind === 'reminder');
    expect(writes.map((n) => n.key).sort()).toEqual(all.map((r) => r.key).sort());
    expect(new Set(all.map((r) => r.key)).size).toBe(4);
    await cancelAndDrain(run);
    expect(await reminders()).toHaveLength(4);
    await recordHistoryFixture(run.handle, 'reminders');
  });
});
