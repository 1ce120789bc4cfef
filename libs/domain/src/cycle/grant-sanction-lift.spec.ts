/**
 * Issue 15, item 5, after the fact: a late report lifts the throttle or suspension it set off (policy
 * `grantReports.liftSanction`), a termination is final, and the reports still outstanding when the
 * cycle closes are recorded.
 */
import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { addDuration } from '../shared/time';
import { grantsToRestore, grantsToSanction } from './grant-reports-state';
import { noticesFor } from './notices';
import { applicantOf, evaluateAll, playToGrants, pm, types, type Scenario } from './testing';
import { grantsToRelease } from './obligations';

const reports = [
  { id: 'm1', kind: 'milestone', dueAfter: 'P30D' },
  { id: 'q1', kind: 'progress', dueAfter: 'P40D' },
  { id: 'final', kind: 'final', dueAfter: 'P170D' },
];
const onMissing = [
  { after: 'P0D', action: 'warning' },
  { after: 'P7D', action: 'throttle' },
  { after: 'P14D', action: 'suspend' },
  { after: 'P60D', action: 'terminate' },
];
const policyWith = (extra: Record<string, unknown> = {}) =>
  parsePolicy({ ...defaultPolicyDocument, grantReports: { reports, onMissing, acceptLate: true, liftSanction: 'on_acceptance', recordOutstanding: true, ...extra } });

const submit = (id: string, reportId: string) => ({ type: 'SubmitGrantReport' as const, actor: applicantOf(`org-${id}`), data: { applicationId: id, reportId, summary: `${reportId} of ${id}` } });
const review = (id: string, reportId: string, outcome: 'accepted' | 'changes_requested' = 'accepted') => ({
  type: 'ReviewGrantReport' as const,
  actor: pm,
  data: { applicationId: id, reportId, outcome, ...(outcome === 'changes_requested' ? { comment: 'add the logs' } : {}) },
});

/** Every team but a3 reports m1 and q1 on time; a3 misses m1 and is throttled (due + P7D). */
function throttledA3(extra?: Record<string, unknown>): { sc: Scenario; due: string } {
  const sc = playToGrants({ policy: policyWith(extra) });
  const startedAt = sc.running.grants.a1.startedAt!;
  sc.at(addDuration(startedAt, 'P20D'));
  for (const id of Object.keys(sc.running.grants).filter((x) => x !== 'a3')) sc.run(submit(id, 'm1'));
  for (const id of Object.keys(sc.running.grants).filter((x) => x !== 'a3')) sc.run(submit(id, 'q1'));
  sc.at(addDuration(startedAt, 'P25D')).run(submit('a3', 'q1')); // a3's progress report is on time
  sc.fire('report_due'); // m1 missed: warning
  sc.fire('report_due'); // + P7D: throttle
  expect(grantsToSanction(sc.running)).toEqual([{ applicationId: 'a3', grantId: sc.running.grants.a3.grantId, mode: 'throttled' }]);
  return { sc, due: addDuration(startedAt, 'P30D') };
}

describe('a late report lifts the sanction it set off (grantReports.liftSanction)', () => {
  it('given a3 throttled, when its late report is submitted, then nothing is lifted yet; when the program manager accepts it, then the throttle is lifted, naming the report and who accepted it', () => {
    const { sc, due } = throttledA3();
    sc.at(addDuration(due, 'P9D'));
    expect(types(sc.run(submit('a3', 'm1')))).toEqual(['GrantReportSubmitted']);
    expect(grantsToSanction(sc.running)).toHaveLength(1); // still throttled until accepted
    expect(types(sc.run(review('a3', 'm1', 'changes_requested')))).toEqual(['GrantReportReviewed']);
    sc.run(submit('a3', 'm1'));
    const lifted = sc.run(review('a3', 'm1'));
    expect(types(lifted)).toEqual(['GrantReportReviewed', 'GrantSanctionLifted']);
    expect(lifted[1].data).toEqual({
      applicationId: 'a3',
      grantId: sc.running.grants.a3.grantId,
      reportId: 'm1',
      kind: 'milestone',
      lifted: 'throttle',
      rule: 'grantReports.liftSanction',
      on: 'on_acceptance',
      by: pm.subject,
      at: sc.now,
    });
    expect(grantsToSanction(sc.running)).toEqual([]);
    expect(grantsToRestore(sc.running)).toEqual([{ applicationId: 'a3', grantId: sc.running.grants.a3.grantId, reportId: 'm1' }]);
    // No more steps follow for m1; the team and the program managers are told.
    expect(sc.running.grants.a3.reports!.m1.steps).toBe(2);
    expect(noticesFor({ eventId: 'e1', streamId: 'cycle:p:2027', type: lifted[1].type, data: lifted[1].data as Record<string, unknown>, occurredAt: sc.now }).map((n) => [n.kind, n.recipient.role])).toEqual([
      ['grant_sanction_lifted', 'applicant'],
      ['grant_sanction_lifted', 'program_manager'],
    ]);
  });

  it('given liftSanction on_submission, when the suspended team submits late, then the suspension is lifted on submission by the team', () => {
    const { sc, due } = throttledA3({ liftSanction: 'on_submission' });
    sc.fire('report_due'); // + P14D: suspend
    expect(grantsToSanction(sc.running)[0].mode).toBe('suspended');
    sc.at(addDuration(due, 'P15D'));
    const events = sc.run(submit('a3', 'm1'));
    expect(types(events)).toEqual(['GrantReportSubmitted', 'GrantSanctionLifted']);
    expect(events[1].data).toMatchObject({ lifted: 'suspend', on: 'on_submission', by: 'user@org-a3' });
    expect(types(sc.run(review('a3', 'm1')))).toEqual(['GrantReportReviewed']); // acceptance lifts nothing more
  });

  it('given two reports missing, then accepting one lifts nothing; accepting the last lifts it', () => {
    const sc = playToGrants({ policy: policyWith() });
    const startedAt = sc.running.grants.a1.startedAt!;
    sc.at(addDuration(startedAt, 'P20D'));
    for (const id of Object.keys(sc.running.grants).filter((x) => x !== 'a3')) sc.run(submit(id, 'm1'));
    for (const id of Object.keys(sc.running.grants).filter((x) => x !== 'a3')) sc.run(submit(id, 'q1'));
    sc.fire('report_due'); // m1 missed (P30D)
    sc.fire('report_due'); // m1 throttle (P37D)
    sc.fire('report_due'); // q1 missed (P40D)
    sc.fire('report_due'); // m1 suspend (P44D)
    sc.fire('report_due'); // q1 throttle (P47D)
    sc.at(addDuration(startedAt, 'P48D'));
    sc.run(submit('a3', 'm1'));
    expect(types(sc.run(review('a3', 'm1')))).toEqual(['GrantReportReviewed']); // q1 still holds a throttle
    expect(grantsToSanction(sc.running)[0].mode).toBe('suspended');
    sc.run(submit('a3', 'q1'));
    const lifted = sc.run(review('a3', 'q1'));
    expect(types(lifted)).toEqual(['GrantReportReviewed', 'GrantSanctionLifted']);
    expect(lifted[1].data).toMatchObject({ reportId: 'q1', lifted: 'suspend' });
  });

  it('given a report accepted on time, then nothing is lifted; a termination is never lifted and the terminated team submits nothing more', () => {
    const { sc, due } = throttledA3();
    expect(types(sc.run(review('a1', 'm1')))).toEqual(['GrantReportReviewed']); // on time: nothing to lift
    sc.at(addDuration(due, 'P60D'));
    expect(types(sc.fire('report_due'))).toEqual(['GrantReportConsequenceApplied']); // suspend
    expect(types(sc.fire('report_due'))).toEqual(['GrantReportConsequenceApplied']); // terminate
    expect(sc.running.applications.a3.status).toBe('eliminated');
    expect(sc.refuse(submit('a3', 'm1'), 'invalid_state').field).toBe('applicationId');
    expect(grantsToRestore(sc.running)).toEqual([]);
    expect(grantsToRelease(sc.state).map((g) => [g.applicationId, g.reason])).toEqual([['a3', 'terminated']]);
  });

  it('given liftSanction never, or absent (a policy as before), then an accepted late report lifts nothing', () => {
    for (const { sc } of [throttledA3({ liftSanction: 'never' }), throttledA3({ liftSanction: undefined })]) {
      sc.run(submit('a3', 'm1'));
      expect(types(sc.run(review('a3', 'm1')))).toEqual(['GrantReportReviewed']);
      expect(grantsToSanction(sc.running)[0].mode).toBe('throttled');
    }
  });

  it('a liftSanction other than on_acceptance, on_submission or never is refused naming the field', () => {
    expect(() => policyWith({ liftSanction: 'sometimes' })).toThrow(expect.objectContaining({ issues: [expect.objectContaining({ field: 'grantReports.liftSanction' })] }));
  });
});

describe('reports still outstanding when the cycle closes are recorded', () => {
  /** All reports in early, so no report_due deadline comes between the stages; the final report due years later. */
  function yearWith(policy: ReturnType<typeof parsePolicy>, during: (sc: Scenario) => void): Scenario {
    const sc = playToGrants({ policy });
    during(sc);
    sc.fire('grant_period_end');
    evaluateAll(sc);
    sc.fire('evaluation_submission_due');
    sc.fire('evaluation_scoring_due');
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    sc.fire('objection_window_end');
    sc.fire('extension_end');
    sc.fire('procurement_contracts_due');
    sc.fire('release_due');
    expect(sc.state.stage).toBe('closed');
    return sc;
  }
  const late = [reports[0], reports[1], { id: 'final', kind: 'final', dueAfter: 'P5Y' }];

  it("when the cycle closes, then each grant with reports never submitted or never reviewed has a record, with its final report's status, just before CycleClosed", () => {
    const sc = yearWith(policyWith({ reports: late }), (s) => {
      for (const id of Object.keys(s.running.grants)) for (const r of ['m1', 'q1']) s.run(submit(id, r));
      for (const r of ['m1', 'q1']) s.run(review('a1', r));
      s.run(review('a2', 'm1', 'changes_requested'));
    });
    const outstanding = sc.events.filter((e): e is Extract<typeof e, { type: 'GrantReportsOutstanding' }> => e.type === 'GrantReportsOutstanding');
    expect(outstanding.map((e) => [e.data.applicationId, e.data.teamStatus])).toEqual([
      ['a1', 'active'],
      ['a2', 'active'],
      ['a3', 'eliminated'],
      ['a4', 'eliminated'],
      ['a5', 'eliminated'],
    ]);
    const due = (id: string) => sc.running.grants[id].reports!.final.dueAt;
    expect(outstanding[0].data).toEqual({
      applicationId: 'a1',
      grantId: sc.running.grants.a1.grantId,
      ending: 'closed',
      teamStatus: 'active',
      reports: [{ reportId: 'final', kind: 'final', status: 'due', dueAt: due('a1') }],
      finalReport: { reportId: 'final', status: 'due' },
      at: sc.last('CycleClosed').data.closedAt,
    });
    expect(outstanding[1].data.reports.map((r) => [r.reportId, r.status])).toEqual([
      ['m1', 'changes_requested'],
      ['q1', 'submitted'],
      ['final', 'due'],
    ]);
    expect(sc.events.slice(-6).map((e) => e.type)).toEqual([...outstanding.map(() => 'GrantReportsOutstanding'), 'CycleClosed']);
  });

  it('when a program manager cancels the cycle, then the reports still outstanding are recorded first, as cancelled', () => {
    const { sc } = throttledA3();
    const events = sc.run({ type: 'CancelCycle', actor: pm, data: { reason: 'programme stopped' } });
    expect(types(events)).toEqual([...Object.keys(sc.running.grants).map(() => 'GrantReportsOutstanding'), 'CycleCancelled']);
    const a3 = events.find((e) => e.type === 'GrantReportsOutstanding' && e.data.applicationId === 'a3')!;
    expect(a3.data).toMatchObject({ ending: 'cancelled', teamStatus: 'active', finalReport: { reportId: 'final', status: 'due' } });
    expect((a3.data as { reports: Array<{ reportId: string; status: string }> }).reports.map((r) => `${r.reportId}:${r.status}`)).toEqual(['m1:missed', 'q1:submitted', 'final:due']);
  });

  it('given recordOutstanding absent (a policy as before), then a cancellation records nothing more than before', () => {
    const { sc } = throttledA3({ recordOutstanding: undefined });
    expect(types(sc.run({ type: 'CancelCycle', actor: pm, data: { reason: 'programme stopped' } }))).toEqual(['CycleCancelled']);
  });

  it('given a policy without grantReports, then the cycle closes as before, with no record', () => {
    const sc = yearWith(parsePolicy(defaultPolicyDocument), () => undefined);
    expect(sc.events.some((e) => e.type === 'GrantReportsOutstanding')).toBe(false);
  });
});
