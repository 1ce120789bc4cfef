import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import type { DomainError } from '../shared/errors';
import { addDuration } from '../shared/time';
import { grantsToSanction } from './grant-reports-state';
import { grantsToRelease, owed, plannedReminders } from './obligations';
import { applicantOf, playToGrants, pm, types, type Scenario } from './testing';

const grantReports = {
  reports: [
    { id: 'm1', kind: 'milestone', dueAfter: 'P30D' },
    { id: 'q1', kind: 'progress', dueAfter: 'P60D' },
    { id: 'final', kind: 'final', dueAfter: 'P170D' },
  ],
  onMissing: [
    { after: 'P0D', action: 'warning' },
    { after: 'P7D', action: 'throttle' },
    { after: 'P14D', action: 'suspend' },
    { after: 'P21D', action: 'terminate' },
  ],
};
const policyWith = (extra: Record<string, unknown> = {}) => parsePolicy({ ...defaultPolicyDocument, grantReports: { ...grantReports, ...extra } });

const submit = (id: string, reportId: string) => ({ type: 'SubmitGrantReport' as const, actor: applicantOf(`org-${id}`), data: { applicationId: id, reportId, summary: `${reportId} of ${id}: trained 7B, evals attached` } });
const review = (id: string, reportId: string, outcome: 'accepted' | 'changes_requested', comment?: string) => ({
  type: 'ReviewGrantReport' as const,
  actor: pm,
  data: { applicationId: id, reportId, outcome, ...(comment ? { comment } : {}) },
});

/** Every funded team but a3 (the one that misses its reports). */
const others = (sc: Scenario) => Object.keys(sc.running.grants).filter((id) => id !== 'a3');

function toGrants(extra?: Record<string, unknown>): { sc: Scenario; startedAt: string } {
  const sc = playToGrants({ policy: policyWith(extra) });
  return { sc, startedAt: sc.running.grants.a1.startedAt! };
}

describe('milestones and reports of a grant (issue 15, item 5)', () => {
  it('given a started grant, then its reports are due at the policy offsets from its start, owed by the team, with reminders', () => {
    const { sc, startedAt } = toGrants();
    expect(sc.running.grants.a1.reports).toEqual({
      m1: { dueAt: addDuration(startedAt, 'P30D'), status: 'due', steps: 0 },
      q1: { dueAt: addDuration(startedAt, 'P60D'), status: 'due', steps: 0 },
      final: { dueAt: addDuration(startedAt, 'P170D'), status: 'due', steps: 0 },
    });
    expect(sc.running.deadlines.report_due).toBe(addDuration(startedAt, 'P30D'));
    const a1 = owed(sc.state).filter((o) => o.applicationId === 'a1' && o.what === 'grant_report');
    expect(a1.map((o) => [o.reportId, o.dueAt, o.who])).toEqual([
      ['m1', addDuration(startedAt, 'P30D'), { role: 'applicant', organisationId: 'org-a1' }],
      ['q1', addDuration(startedAt, 'P60D'), { role: 'applicant', organisationId: 'org-a1' }],
      ['final', addDuration(startedAt, 'P170D'), { role: 'applicant', organisationId: 'org-a1' }],
    ]);
    // The policy's reminders (P7D, P1D before) reach the team before each report.
    const reminders = plannedReminders(sc.state).filter((r) => r.deadline === 'report_due' && r.recipient.organisationId === 'org-a1');
    expect(reminders.map((r) => [r.offset, r.at])).toContainEqual(['P7D', addDuration(addDuration(startedAt, 'P30D'), 'P7D', -1)]);
  });

  it('when the team submits on time, then the program manager owes the review; accepted, nothing more is owed for it', () => {
    const { sc } = toGrants();
    sc.afterDays(10);
    expect(types(sc.run(submit('a1', 'm1')))).toEqual(['GrantReportSubmitted']);
    expect(sc.last('GrantReportSubmitted').data).toMatchObject({ reportId: 'm1', kind: 'milestone', late: false, by: 'user@org-a1' });
    expect(owed(sc.state).find((o) => o.applicationId === 'a1' && o.reportId === 'm1')).toMatchObject({ who: { role: 'program_manager' }, what: 'grant_report_review' });
    sc.refuse(submit('a1', 'm1'), 'duplicate');
    expect(types(sc.run(review('a1', 'm1', 'accepted')))).toEqual(['GrantReportReviewed']);
    expect(owed(sc.state).some((o) => o.applicationId === 'a1' && o.reportId === 'm1')).toBe(false);
    sc.refuse(review('a1', 'm1', 'accepted'), 'invalid_state');
    sc.refuse(submit('a1', 'm1'), 'duplicate');
  });

  it('when the program manager asks for changes, then the team owes it again and may resubmit', () => {
    const { sc } = toGrants();
    sc.afterDays(5).run(submit('a2', 'm1'));
    sc.refuse(review('a2', 'm1', 'changes_requested'), 'validation_failed'); // a comment says what to change
    sc.run(review('a2', 'm1', 'changes_requested', 'add the evaluation logs'));
    expect(owed(sc.state).find((o) => o.applicationId === 'a2' && o.reportId === 'm1')).toMatchObject({ who: { organisationId: 'org-a2' }, what: 'grant_report', dueAt: null });
    expect(types(sc.run(submit('a2', 'm1')))).toEqual(['GrantReportSubmitted']);
  });

  it('an unknown report, another team, a reviewer, a team without a grant are refused with the field', () => {
    const { sc } = toGrants();
    expect(sc.refuse({ ...submit('a1', 'm9') }, 'not_found').field).toBe('reportId');
    expect(sc.refuse({ ...submit('a1', 'm1'), actor: applicantOf('org-a2') }, 'forbidden').field).toBe('actor.organisationId');
    sc.refuse({ ...submit('a1', 'm1'), actor: pm }, 'forbidden');
    expect(sc.refuse(submit('a8', 'm1'), 'invalid_state').field).toBe('applicationId'); // a8 was not selected
    expect(sc.refuse({ ...submit('a1', 'm1'), data: { applicationId: 'a1', reportId: 'm1', summary: ' ' } }, 'validation_failed').field).toBe('summary');
  });

  it('given a policy without grantReports, then nothing is scheduled, owed or refused differently', () => {
    const sc = playToGrants();
    expect(sc.running.grants.a1.reports).toBeUndefined();
    expect(sc.running.deadlines.report_due).toBeUndefined();
    expect(sc.refuse(submit('a1', 'm1'), 'invalid_state').field).toBe('reportId');
  });

  it('when a report is missed, then warning, throttle, suspension and termination follow by the policy, each an event naming the rule; the grant is released', () => {
    const { sc, startedAt } = toGrants();
    const due = addDuration(startedAt, 'P30D');
    for (const id of others(sc)) sc.at(addDuration(startedAt, 'P20D')).run(submit(id, 'm1'));
    // a3 misses m1: at its due date the report is missed and the first step (a warning) applies.
    let fired = sc.fire('report_due');
    expect(sc.now).toBe(due);
    expect(types(fired)).toEqual(['GrantReportMissed', 'GrantReportConsequenceApplied']);
    expect(fired[1].data).toMatchObject({ applicationId: 'a3', reportId: 'm1', action: 'warning', step: 0, rule: 'grantReports.onMissing[0]', dueAt: due });
    // Late: refused with the due date (the policy takes no late reports).
    sc.at(addDuration(due, 'PT1H'));
    expect(sc.refuse(submit('a3', 'm1'), 'deadline_passed').message).toContain(due);
    expect(owed(sc.state).some((o) => o.applicationId === 'a3' && o.reportId === 'm1')).toBe(false);
    fired = sc.fire('report_due');
    expect(sc.now).toBe(addDuration(due, 'P7D'));
    expect(fired.map((e) => (e.type === 'GrantReportConsequenceApplied' ? e.data.action : e.type))).toEqual(['throttle']);
    expect(grantsToSanction(sc.running)).toEqual([{ applicationId: 'a3', grantId: sc.running.grants.a3.grantId, mode: 'throttled' }]);
    sc.fire('report_due');
    expect(grantsToSanction(sc.running)).toEqual([{ applicationId: 'a3', grantId: sc.running.grants.a3.grantId, mode: 'suspended' }]);
    fired = sc.fire('report_due');
    expect(sc.now).toBe(addDuration(due, 'P21D'));
    expect(fired[0].data).toMatchObject({ action: 'terminate', step: 3, rule: 'grantReports.onMissing[3]' });
    expect(sc.running.applications.a3.status).toBe('eliminated');
    expect(grantsToRelease(sc.state)).toEqual([{ applicationId: 'a3', grantId: sc.running.grants.a3.grantId, status: 'active', reason: 'terminated' }]);
    expect(grantsToSanction(sc.running)).toEqual([]);
    // A terminated team owes nothing more; the others' next report is the next deadline.
    expect(owed(sc.state).some((o) => o.applicationId === 'a3')).toBe(false);
    expect(sc.running.deadlines.report_due).toBe(addDuration(startedAt, 'P60D'));
  });

  it('with acceptLate, a missed report may still come in: it is marked late and stops the steps that follow', () => {
    const { sc, startedAt } = toGrants({ acceptLate: true });
    sc.at(addDuration(startedAt, 'P20D'));
    for (const id of others(sc)) sc.run(submit(id, 'm1'));
    sc.fire('report_due'); // missed, warned
    expect(owed(sc.state).find((o) => o.applicationId === 'a3' && o.reportId === 'm1')).toMatchObject({ what: 'grant_report' });
    sc.at(addDuration(startedAt, 'P33D'));
    expect(sc.run(submit('a3', 'm1'))[0].data).toMatchObject({ late: true });
    expect(sc.running.deadlines.report_due).toBe(addDuration(startedAt, 'P60D'));
  });

  it('a policy whose steps do not escalate, or repeat a report id, is refused naming the field', () => {
    const bad = (g: unknown) => {
      try {
        parsePolicy({ ...defaultPolicyDocument, grantReports: g });
      } catch (e) {
        return (e as DomainError).issues.map((i) => i.field);
      }
      return [];
    };
    expect(bad({ reports: grantReports.reports, onMissing: [{ after: 'P7D', action: 'suspend' }, { after: 'P14D', action: 'throttle' }] })).toEqual(['grantReports.onMissing.1.action']);
    expect(bad({ reports: grantReports.reports, onMissing: [{ after: 'P7D', action: 'warning' }, { after: 'P1D', action: 'throttle' }] })).toEqual(['grantReports.onMissing.1.after']);
    expect(bad({ reports: [grantReports.reports[0], grantReports.reports[0]] })).toEqual(['grantReports.reports.1.id']);
    expect(bad({ reports: [{ id: 'm1', kind: 'milestone', dueAfter: '30 days' }] })).toEqual(['grantReports.reports.0.dueAfter']);
  });
});
