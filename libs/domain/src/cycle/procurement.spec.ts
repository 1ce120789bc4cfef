import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { grantsToRelease, grantsToStart, nextDeadline, owed } from './obligations';
import { applicantOf, consortiaOf, openWithApplicants, pm, reviewAll, type Scenario, types, playToNarrowing } from './testing';
import { stagesAfter } from './evolve';
import { initialState } from './state';

function toProcurement(): Scenario {
  const sc = playToNarrowing();
  sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
  sc.fire('objection_window_end');
  sc.fire('extension_end');
  return sc;
}

const release = (id: string, licence = 'Apache-2.0') => ({
  type: 'RecordReleaseDeclaration' as const,
  actor: applicantOf(`org-${id}`),
  data: { applicationId: id, repository: `https://git.example/${id}`, licence, artifacts: [{ name: 'weights', sha256: 'd'.repeat(64) }] },
});

describe('procurement and open-source release', () => {
  it('owes contracts (program manager) and releases (finalists), and refuses bad records', () => {
    const sc = toProcurement();
    expect(owed(sc.state).map((o) => [o.what, o.applicationId])).toEqual([
      ['procurement_contract', 'a1'],
      ['release_declaration', 'a1'],
      ['procurement_contract', 'a2'],
      ['release_declaration', 'a2'],
    ]);
    sc.refuse(release('a1', 'Proprietary-1.0'), 'validation_failed');
    sc.refuse({ ...release('a1'), actor: applicantOf('org-a2') }, 'forbidden');
    sc.refuse(release('a3'), 'invalid_state');
    sc.run(release('a1'));
    sc.refuse(release('a1'), 'duplicate');
  });

  it('closes with what is outstanding once both deadlines have passed', () => {
    const sc = toProcurement();
    sc.run(release('a1'));
    expect(types(sc.fire('procurement_contracts_due'))).toEqual(['ProcurementDeadlinePassed', 'EscalationRaised']);
    expect(sc.state.stage).toBe('procurement');
    expect(types(sc.fire('release_due'))).toEqual(['ProcurementDeadlinePassed', 'EscalationRaised', 'CycleClosed']);
    expect(sc.last('CycleClosed').data).toMatchObject({
      outcome: 'completed_with_outstanding',
      outstanding: [
        { applicationId: 'a1', missing: 'procurement_contract' },
        { applicationId: 'a2', missing: 'procurement_contract' },
        { applicationId: 'a2', missing: 'release_declaration' },
      ],
    });
    expect(nextDeadline(sc.state)).toBeNull();
    expect(grantsToRelease(sc.state).map((g) => [g.applicationId, g.reason])).toEqual([
      ['a1', 'completed'],
      ['a2', 'completed'],
      ['a3', 'eliminated'],
      ['a4', 'eliminated'],
      ['a5', 'eliminated'],
    ]);
  });

  it('stamps the stage after every event for projections', () => {
    const sc = toProcurement();
    const stages = stagesAfter(initialState, sc.events);
    expect(stages).toHaveLength(sc.events.length);
    expect(stages[0]).toBe('call');
    expect(stages[stages.length - 1]).toBe('procurement');
  });
});

describe('membership changes', () => {
  it('need the program manager, a rationale and an eligible consortium', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, eligibility: { ...s.eligibility, requiredMemberTypes: ['university'] } } : s)),
    });
    const sc = openWithApplicants(policy, 0);
    sc.run({ type: 'SubmitApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1', title: 't', lead: { organisationId: 'org-a1', name: 'A1', type: 'company' }, members: [{ organisationId: 'uni-1', name: 'U1', type: 'university' }] } });
    const change = (members: Array<{ organisationId: string; name: string; type: string }>, rationale = 'uni-2 replaces uni-1') => ({ type: 'ApproveMembershipChange' as const, actor: pm, data: { applicationId: 'a1', members, rationale } });
    sc.refuse({ ...change([{ organisationId: 'uni-2', name: 'U2', type: 'university' }]), actor: applicantOf('org-a1') }, 'forbidden');
    sc.refuse(change([{ organisationId: 'lab-1', name: 'L', type: 'company' }]), 'not_eligible');
    sc.refuse(change([{ organisationId: 'uni-2', name: 'U2', type: 'university' }], ''), 'validation_failed');
    sc.run(change([{ organisationId: 'uni-2', name: 'U2', type: 'university' }]));
    // The consortium lives in the events (the state keeps no member lists).
    expect(consortiaOf(sc.events).get('a1')).toEqual(['org-a1', 'uni-2']);
  });
});

describe('objections to a selection, when the policy allows them', () => {
  it('hold the grants until the window closes', () => {
    const policy = parsePolicy({ ...defaultPolicyDocument, objections: { windowDays: 5, appliesTo: ['selection', 'narrowing'] } });
    const sc = openWithApplicants(policy, 7);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: {} }))).toEqual(['AwardeesSelected']);
    expect(sc.state.stage).toBe('objection');
    expect(grantsToStart(sc.state)).toEqual([]);
    sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a6'), data: { applicationId: 'a6', grounds: 'a reviewer misread our budget' } });
    const upheld = sc.run({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a6', upheld: true, reasoning: 'the budget was misread' } });
    expect(types(upheld)).toEqual(['ObjectionDecided', 'SelectionProposed']);
    sc.run({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a2', 'a3', 'a4', 'a6'], rationale: 'a6 re-assessed above a5' } });
    sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } });
    expect(types(sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a7'), data: { applicationId: 'a7' } }))).toEqual(['ObjectionWaived', 'ObjectionWindowClosed', 'GrantPeriodStarted']);
    expect(grantsToStart(sc.state).map((g) => g.applicationId)).toEqual(['a1', 'a2', 'a3', 'a4', 'a6']);
  });
});
