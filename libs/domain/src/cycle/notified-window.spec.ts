import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy, policyHash } from '../policy/parse';
import { addDays } from '../shared/time';
import { teamsAwaitingNotice } from './decision-flow';
import { nextDeadline, owed } from './obligations';
import { applicantOf, openWithApplicants, pm, playToNarrowing, reviewAll, system, types, type Scenario } from './testing';

const notifiedPolicy = (objections: Record<string, unknown> = {}) =>
  parsePolicy({ ...defaultPolicyDocument, objections: { ...defaultPolicyDocument.objections, windowStartsAt: 'notified', notifiedWithin: 'P2D', ...objections } });

/** The default year to the narrowing (a1, a2 kept; a3, a4, a5 dropped), approved at `sc.now`. */
function narrowed(policy = notifiedPolicy()): Scenario {
  const sc = playToNarrowing({ policy });
  sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
  return sc;
}

const notified = (sc: Scenario, ...applicationIds: string[]) =>
  sc.run({ type: 'RecordTeamsNotified', actor: system, data: { decisionKey: sc.running.decision!.key, applicationIds } });

describe('policy objections.windowStartsAt', () => {
  it('is absent from the default policy, which keeps its hash: cycles recorded before it replay unchanged', () => {
    expect(defaultPolicy.objections).toEqual({ windowDays: 10, appliesTo: ['narrowing'] });
    expect(policyHash(parsePolicy(defaultPolicyDocument))).toBe(policyHash(defaultPolicy));
  });

  it('refuses a bound without windows that start on notice', () => {
    const document = { ...defaultPolicyDocument, objections: { ...defaultPolicyDocument.objections, notifiedWithin: 'P2D' } };
    expect(() => parsePolicy(document)).toThrow(expect.objectContaining({ code: 'validation_failed', field: 'objections.notifiedWithin' }));
    expect(() => parsePolicy({ ...document, objections: { ...document.objections, windowStartsAt: 'sometime' } })).toThrow(expect.objectContaining({ field: 'objections.windowStartsAt' }));
  });

  it("'decision' (or absent): the window starts at the decision, as before, and says so", () => {
    const sc = narrowed(defaultPolicy);
    const data = sc.last('TeamsNarrowed').data;
    expect(data.objectionWindowEndsAt).toBe(addDays(data.decidedAt, 10));
    expect(data.objectionWindow).toEqual({ startsOn: 'decision', days: 10, notifiedBy: null });
    expect(teamsAwaitingNotice(sc.state)).toEqual([]);
    expect(nextDeadline(sc.state)?.deadline).toBe('objection_window_end');
  });
});

describe('an objection window that starts when the affected team is notified', () => {
  it('given a narrowing, the window waits for the notices: no end yet, the bound is the next deadline', () => {
    const sc = narrowed();
    const data = sc.last('TeamsNarrowed').data;
    expect(data.objectionWindowEndsAt).toBeNull();
    expect(data.objectionWindow).toEqual({ startsOn: 'notified', days: 10, notifiedBy: addDays(data.decidedAt, 2) });
    expect(sc.state.stage).toBe('objection');
    expect(teamsAwaitingNotice(sc.state)).toEqual(['a3', 'a4', 'a5']);
    expect(nextDeadline(sc.state)).toEqual({ deadline: 'objection_notice_due', at: addDays(data.decidedAt, 2) });
    // The teams owe their answer, by a date not known yet.
    expect(owed(sc.state).filter((o) => o.what === 'objection_response').map((o) => [o.applicationId, o.dueAt])).toEqual([['a3', null], ['a4', null], ['a5', null]]);
  });

  it('when the last affected team is notified, the window ends the policy days after that notice', () => {
    const sc = narrowed();
    sc.afterDays(0.5);
    expect(types(notified(sc, 'a3', 'a4'))).toEqual(['ObjectionWindowStarted']);
    expect(sc.last('ObjectionWindowStarted').data).toMatchObject({ applicationIds: ['a3', 'a4'], notified: true, startedAt: sc.now, windowEndsAt: null });
    expect(nextDeadline(sc.state)?.deadline).toBe('objection_notice_due');
    // A repeated report, or one about a kept team, changes nothing.
    expect(notified(sc, 'a3', 'a1')).toEqual([]);
    sc.afterDays(0.5);
    notified(sc, 'a5');
    const ends = addDays(sc.now, 10);
    expect(sc.last('ObjectionWindowStarted').data).toMatchObject({ applicationIds: ['a5'], windowEndsAt: ends });
    expect(nextDeadline(sc.state)).toEqual({ deadline: 'objection_window_end', at: ends });
    expect(teamsAwaitingNotice(sc.state)).toEqual([]);
    // a3 was told first, and may still object until the decision's window ends (at least 10 days after its own notice).
    sc.at(addDays(ends, -0.01));
    expect(types(sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'the benchmark run was cut short' } }))).toEqual(['ObjectionFiled']);
    sc.at(ends);
    sc.refuse({ type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } }, 'deadline_passed');
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed']);
  });

  it('a team never reached: the bound starts its window anyway and the program managers are told; nothing waits on a mailbox', () => {
    const sc = narrowed();
    sc.afterDays(1);
    notified(sc, 'a3', 'a4');
    const events = sc.fire('objection_notice_due');
    const bound = sc.now;
    expect(types(events)).toEqual(['ObjectionWindowStarted', 'EscalationRaised']);
    expect(events[0].data).toEqual({ decisionKey: sc.running.decision!.key, applicationIds: ['a5'], notified: false, startedAt: bound, windowEndsAt: addDays(bound, 10) });
    expect(events[1].data).toMatchObject({ reason: 'teams_not_notified', subject: 'a5', heldDeadline: null });
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted']);
  });

  it('every affected team answering before its notice arrives closes the window early; a late delivery report then changes nothing', () => {
    const sc = narrowed();
    const key = sc.running.decision!.key;
    for (const id of ['a3', 'a4']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
    expect(types(sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } }))).toEqual([
      'ObjectionWaived', 'ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted',
    ]);
    expect(sc.running.deadlines.objection_notice_due).toBeUndefined();
    expect(sc.run({ type: 'RecordTeamsNotified', actor: system, data: { decisionKey: key, applicationIds: ['a3'] } })).toEqual([]);
    expect(sc.events.some((e) => e.type === 'ObjectionWindowStarted')).toBe(false);
  });

  it('applies to a selection too: the teams not selected are the ones whose windows wait for their notice', () => {
    const sc = openWithApplicants(notifiedPolicy({ appliesTo: ['selection'] }), 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: {} }))).toEqual(['AwardeesSelected']);
    expect(teamsAwaitingNotice(sc.state)).toEqual(['a6', 'a7', 'a8']);
    sc.afterDays(1);
    notified(sc, 'a6', 'a7', 'a8');
    const ends = addDays(sc.now, 10);
    expect(sc.last('ObjectionWindowStarted').data).toMatchObject({ applicationIds: ['a6', 'a7', 'a8'], notified: true, windowEndsAt: ends });
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed', 'GrantPeriodStarted']);
  });

  it('only the workflow reports deliveries', () => {
    const sc = narrowed();
    sc.refuse({ type: 'RecordTeamsNotified', actor: pm, data: { decisionKey: sc.running.decision!.key, applicationIds: ['a3'] } }, 'forbidden');
  });
});
