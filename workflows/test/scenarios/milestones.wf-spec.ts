/**
 * Milestones and reports of a grant (issue 15, item 5), through the cycle workflow and its grant
 * children on the time-skipping test server: one team reports on time and is accepted; another
 * misses its milestone and goes through the policy's steps, warning → throttle → suspension →
 * termination, its allocation changed in the GPU ledger and finally released; every consequence an
 * event the auditor's `rederive` derives again and the timeline attributes to the rule.
 */
import { addDuration, defaultPolicyDocument, parsePolicy, type CycleCommand } from '@concentra/domain';
import { rederive, timeline } from '@concentra/audit';
import { useCycleHarness, type CycleRun } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectRefused, toGrants } from '../cycle-drivers';
import { applicantOf, pm } from '../../../libs/domain/src/cycle/testing';
import { recordHistoryFixture } from '../../../test/support/histories';

const policy = parsePolicy({
  ...defaultPolicyDocument,
  grantReports: {
    reports: [
      { id: 'm1', kind: 'milestone', dueAfter: 'P30D' },
      { id: 'final', kind: 'final', dueAfter: 'P150D' },
    ],
    onMissing: [
      { after: 'P0D', action: 'warning' },
      { after: 'P7D', action: 'throttle' },
      { after: 'P14D', action: 'suspend' },
      { after: 'P21D', action: 'terminate' },
    ],
  },
});

const submit = (id: string, reportId: string): CycleCommand => ({
  type: 'SubmitGrantReport',
  actor: applicantOf(`org-${id}`),
  data: { applicationId: id, reportId, summary: `${reportId}: pre-training done, evaluation logs attached`, documentUri: `https://reports.example/${id}/${reportId}.pdf` },
});

describe('milestones and reports of a grant', () => {
  const harness = useCycleHarness();

  const modeOf = (run: CycleRun, team: string, mode: string) =>
    harness.poll(`${team}'s allocation ${mode}`, async () => ((await run.allocations()).find((a) => a.grantId === run.grantId(team))?.mode === mode ? true : undefined));

  it('a team that reports on time is reviewed; a team that misses its milestone is warned, throttled, suspended and terminated, its GPUs released', async () => {
    const run = await harness.start(policy, { panel: PANEL });
    const awardees = await toGrants(run, 3);
    expect(awardees).toEqual(['a1', 'a2', 'a3']);
    const startedAt = new Map((await run.eventsOf('GrantStarted')).map((e) => [e.data.applicationId as string, e.data.startedAt as string]));
    const due = addDuration(startedAt.get('a3')!, 'P30D');
    expect((await run.owed()).filter((o) => o.what === 'grant_report' && o.reportId === 'm1').map((o) => o.applicationId)).toEqual(['a1', 'a2', 'a3']);

    // a1 and a2 report on time; the program manager accepts a1's and sends a2's back, a2 corrects it.
    await harness.sleepUntil(addDuration(startedAt.get('a3')!, 'P20D'));
    expect((await run.send(submit('a1', 'm1'))).events).toEqual(['GrantReportSubmitted']);
    await expectRefused(run, submit('a1', 'm1'), 'duplicate');
    await expectRefused(run, submit('a1', 'm7'), 'not_found');
    await run.send(submit('a2', 'm1'));
    expect((await run.send({ type: 'ReviewGrantReport', actor: pm, data: { applicationId: 'a1', reportId: 'm1', outcome: 'accepted' } })).events).toEqual(['GrantReportReviewed']);
    await run.send({ type: 'ReviewGrantReport', actor: pm, data: { applicationId: 'a2', reportId: 'm1', outcome: 'changes_requested', comment: 'add the evaluation logs' } });
    await run.send(submit('a2', 'm1'));
    expect((await run.owed()).filter((o) => o.reportId === 'm1').map((o) => [o.applicationId, o.what])).toEqual([
      ['a2', 'grant_report_review'],
      ['a3', 'grant_report'],
    ]);

    // a3's milestone passes its due date: missed, and the first step (a warning).
    expect((await run.status()).nextDeadline).toEqual({ kind: 'report_due', at: due });
    await run.passDeadline('report_due');
    await expectRefused(run, submit('a3', 'm1'), 'deadline_passed');
    await run.passDeadline('report_due'); // + P7D: throttled in the ledger
    await modeOf(run, 'a3', 'throttled');
    await run.passDeadline('report_due'); // + P14D: suspended
    await modeOf(run, 'a3', 'suspended');
    await run.passDeadline('report_due'); // + P21D: terminated, its GPUs released
    const [ended] = (await run.untilEvents('GrantReportConsequenceApplied', 'GrantEnded')).filter((e) => e.type === 'GrantEnded' && (e.data as { applicationId: string }).applicationId === 'a3');
    expect(ended.data).toMatchObject({ reason: 'terminated' });
    await harness.poll('a3 released', async () => ((await run.allocations()).find((a) => a.grantId === run.grantId('a3'))?.status === 'released' ? true : undefined));
    expect((await run.liveAllocations()).map((a) => a.grantId).sort()).toEqual([run.grantId('a1'), run.grantId('a2')]);

    const consequences = await run.eventsOf('GrantReportConsequenceApplied');
    expect(consequences.map((e) => [e.data.applicationId, e.data.action, e.data.at])).toEqual([
      ['a3', 'warning', due],
      ['a3', 'throttle', addDuration(due, 'P7D')],
      ['a3', 'suspend', addDuration(due, 'P14D')],
      ['a3', 'terminate', addDuration(due, 'P21D')],
    ]);
    // Who owes what now: a1 and a2 their final report, by its date; a3 nothing.
    const owedNow = await run.owed();
    expect(owedNow.filter((o) => o.what === 'grant_report').map((o) => [o.applicationId, o.reportId, o.dueAt])).toEqual([
      ['a1', 'final', addDuration(startedAt.get('a1')!, 'P150D')],
      ['a2', 'final', addDuration(startedAt.get('a2')!, 'P150D')],
    ]);
    expect(owedNow.some((o) => o.applicationId === 'a3')).toBe(false);

    // The policy's reminders (P7D and P1D before) reached only the team that had not reported; each
    // consequence was told to the team and to the program managers.
    const reminders = (await harness.outbox(run.id, 'reminder')).filter((r) => r.body.deadline === 'report_due');
    expect(reminders.map((r) => [r.recipient.organisationId, r.dueAt, r.body.items])).toEqual([
      ['org-a3', due, [{ what: 'grant_report', applicationId: 'a3', reportId: 'm1' }]],
      ['org-a3', due, [{ what: 'grant_report', applicationId: 'a3', reportId: 'm1' }]],
    ]);
    const notices = await harness.outbox(run.id, 'grant_report_consequence');
    expect(notices.map((n) => [n.recipient.role, n.body.action])).toEqual(
      ['warning', 'throttle', 'suspend', 'terminate'].flatMap((action) => [
        ['applicant', action],
        ['program_manager', action],
      ]),
    );

    // The auditor derives every missed report and consequence again; the timeline names the rule and the report.
    const events = await run.events();
    const audit = rederive(events);
    expect(audit.ok).toBe(true);
    expect(audit.decisions.filter((d) => d.kind === 'grant_report').map((d) => d.decisionKey)).toEqual([
      'a3:report:m1:missed',
      'a3:report:m1:warning',
      'a3:report:m1:throttle',
      'a3:report:m1:suspend',
      'a3:report:m1:terminate',
    ]);
    const lines = timeline(events).filter((t) => t.type === 'GrantReportConsequenceApplied');
    expect(lines[1]).toMatchObject({ summary: expect.stringContaining('"a3" GPUs throttled by the policy\'s rule grantReports.onMissing[1]') });
    expect(lines[3].summary).toContain('missing milestone report "m1"');
    await cancelAndDrain(run);
    await recordHistoryFixture(run.handle, 'grant-milestones');
    await recordHistoryFixture(harness.env.client.workflow.getHandle(run.grantId('a3')), 'grant-milestones-terminated-grant');
  });
});
