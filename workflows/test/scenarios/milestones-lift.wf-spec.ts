/**
 * Milestones and reports of a grant (issue 15, item 5), after the fact, through the cycle workflow
 * and its grant children on the time-skipping test server: a team throttled for a missing milestone
 * submits it late, the program manager accepts it, and the sanction is lifted (GrantSanctionLifted,
 * the allocation back to normal in the real GPU ledger, the team and managers told); the year then
 * runs to its close, which records the reports still outstanding (GrantReportsOutstanding). Every
 * fact is re-derived by the auditor's `rederive` and reads as a sentence in the timeline.
 */
import { addDuration, defaultPolicyDocument, parsePolicy, type CycleCommand } from '@concentra/domain';
import { rederive, timeline } from '@concentra/audit';
import { useCycleHarness, type CycleRun } from '../cycle-harness';
import { PANEL, evaluateAll, procureAndRelease, toGrants, waive } from '../cycle-drivers';
import { applicantOf, pm } from '../../../libs/domain/src/cycle/testing';
import { recordHistoryFixture } from '../../../test/support/histories';

// Without repeatEvery, as default-year.wf-spec.ts: a closing cycle that starts next year's hits an internal error of the time-skipping server.
const policy = parsePolicy({
  ...defaultPolicyDocument,
  repeatEvery: undefined,
  grantReports: {
    reports: [
      { id: 'm1', kind: 'milestone', dueAfter: 'P30D' },
      { id: 'final', kind: 'final', dueAfter: 'P5Y' },
    ],
    onMissing: [
      { after: 'P0D', action: 'warning' },
      { after: 'P7D', action: 'throttle' },
    ],
    acceptLate: true,
    liftSanction: 'on_acceptance',
    recordOutstanding: true,
  },
});

const submit = (id: string, reportId: string): CycleCommand => ({
  type: 'SubmitGrantReport',
  actor: applicantOf(`org-${id}`),
  data: { applicationId: id, reportId, summary: `${reportId}: pre-training done, evaluation logs attached` },
});
const accept = (id: string, reportId: string): CycleCommand => ({ type: 'ReviewGrantReport', actor: pm, data: { applicationId: id, reportId, outcome: 'accepted' } });

describe('milestones and reports of a grant: a sanction lifted, the outstanding reports recorded at the close', () => {
  const harness = useCycleHarness();

  const modeOf = (run: CycleRun, team: string, mode: string) =>
    harness.poll(`${team}'s allocation ${mode}`, async () => ((await run.allocations()).find((a) => a.grantId === run.grantId(team))?.mode === mode ? true : undefined));

  it('a throttled team reports late and is accepted: its allocation is back to normal; the year closes recording the reports never submitted or never reviewed', async () => {
    const run = await harness.start(policy, { panel: PANEL });
    const awardees = await toGrants(run, 3);
    expect(awardees).toEqual(['a1', 'a2', 'a3']);
    const startedAt = (await run.eventsOf('GrantStarted')).find((e) => e.data.applicationId === 'a3')!.data.startedAt as string;

    // a1 and a2 report on time (a2's is never reviewed); a3 misses its milestone: warned, then throttled in the ledger.
    await harness.sleepUntil(addDuration(startedAt, 'P20D'));
    await run.send(submit('a1', 'm1'));
    await run.send(submit('a2', 'm1'));
    await run.send(accept('a1', 'm1'));
    await run.passDeadline('report_due'); // missed: warning
    await run.passDeadline('report_due'); // + P7D: throttle
    await modeOf(run, 'a3', 'throttled');

    // Late, but taken (acceptLate): submitted, the throttle stands until the program manager accepts it.
    expect((await run.send(submit('a3', 'm1'))).events).toEqual(['GrantReportSubmitted']);
    expect((await run.liveAllocations()).find((a) => a.grantId === run.grantId('a3'))?.mode).toBe('throttled');
    expect((await run.send(accept('a3', 'm1'))).events).toEqual(['GrantReportReviewed', 'GrantSanctionLifted']);
    await modeOf(run, 'a3', 'normal');
    const [lifted] = await run.eventsOf('GrantSanctionLifted');
    expect(lifted.data).toMatchObject({ applicationId: 'a3', reportId: 'm1', lifted: 'throttle', on: 'on_acceptance', by: pm.subject, rule: 'grantReports.liftSanction' });
    const told = await harness.outbox(run.id, 'grant_sanction_lifted');
    expect(told.map((n) => [n.recipient.role, (n.recipient as { applicationId?: string }).applicationId ?? n.body.applicationId, n.body.reportId, n.body.lifted])).toEqual([
      ['applicant', 'a3', 'm1', 'throttle'],
      ['program_manager', 'a3', 'm1', 'throttle'],
    ]);
    expect((await run.owed()).filter((o) => o.applicationId === 'a3' && o.reportId === 'm1')).toEqual([]);

    // The rest of the year: evaluation, narrowing to two, extension, procurement, close.
    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
    await evaluateAll(run, 1, awardees);
    await run.passDeadline('evaluation_submission_due');
    expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');
    await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    const [narrowed] = await run.eventsOf('TeamsNarrowed');
    const finalists = narrowed.data.kept as string[];
    for (const id of narrowed.data.dropped as string[]) await waive(run, id);
    await run.untilEvents('ExtensionStarted', 'GrantEnded');
    expect((await run.passDeadline('extension_end')).stage).toBe('procurement');
    await procureAndRelease(run, finalists);
    expect(await run.result()).toMatchObject({ stage: 'closed', nextCycleId: null });

    // The close recorded, per grant, the reports still outstanding, just before CycleClosed.
    const types = await run.types();
    const outstanding = await run.eventsOf('GrantReportsOutstanding');
    expect(types.slice(-(outstanding.length + 1))).toEqual([...outstanding.map(() => 'GrantReportsOutstanding'), 'CycleClosed']);
    expect(outstanding.map((e) => [e.data.applicationId, (e.data.reports as Array<{ reportId: string; status: string }>).map((r) => `${r.reportId}:${r.status}`), e.data.finalReport.status])).toEqual([
      ['a1', ['final:due'], 'due'],
      ['a2', ['m1:submitted', 'final:due'], 'due'],
      ['a3', ['final:due'], 'due'],
    ]);

    // The auditor derives the lift and the outstanding records again; the timeline reads them as sentences.
    const events = await run.events();
    const audit = rederive(events);
    expect(audit.ok).toBe(true);
    expect(audit.decisions.filter((d) => d.kind === 'grant_report').map((d) => d.decisionKey)).toEqual([
      'a3:report:m1:missed',
      'a3:report:m1:warning',
      'a3:report:m1:throttle',
      'a3:report:m1:lifted',
      'a1:reports-outstanding',
      'a2:reports-outstanding',
      'a3:reports-outstanding',
    ]);
    const lines = timeline(events);
    expect(lines.find((t) => t.type === 'GrantSanctionLifted')?.summary).toContain('"a3" GPUs throttling lifted by the policy\'s rule grantReports.liftSanction (on acceptance): its milestone report "m1" was accepted late by');
    const a2 = lines.find((t) => t.type === 'GrantReportsOutstanding' && t.summary.includes('"a2"'))?.summary;
    expect(a2).toMatch(/^the cycle closed with 2 report\(s\) of "a2" .* outstanding: milestone report "m1" \(due [^)]+\) submitted, never reviewed; final report "final" \(due [^)]+\) never submitted; its final report "final" stood due$/);
    await recordHistoryFixture(run.handle, 'grant-sanction-lift');
    await recordHistoryFixture(harness.env.client.workflow.getHandle(run.grantId('a3')), 'grant-sanction-lift-grant');
  });
});
