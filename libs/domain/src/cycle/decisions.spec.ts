import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { grantsToRelease, nextDeadline, owed } from './obligations';
import { applicantOf, modelByRank, openWithApplicants, pm, reviewAll, type Scenario, types, playToNarrowing } from './testing';

/** Drives the default policy to the narrowing proposal with five teams a1..a5. */
const toNarrowing = (policy = defaultPolicy, scores = modelByRank): Scenario => playToNarrowing({ policy, scores });

describe('a program manager who never approves', () => {
  it('applies the ranking when the policy says apply_ranking, recording "policy default"', () => {
    const sc = openWithApplicants(defaultPolicy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    expect(owed(sc.state)).toEqual([{ who: { role: 'program_manager' }, what: 'selection_approval', applicationId: null, dueAt: '2027-03-03T09:00:00.000Z', deadline: 'selection_approval_due' }]);
    expect(types(sc.fire('selection_approval_due'))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    expect(sc.last('AwardeesSelected').data).toMatchObject({ approval: 'policy default', overridden: false, awardees: ['a1', 'a2', 'a3', 'a4', 'a5'] });
  });

  it('holds and escalates when the policy says hold_and_escalate, and still accepts a late approval', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'selection' ? { ...s, onApprovalTimeout: 'hold_and_escalate' } : s)),
    });
    const sc = openWithApplicants(policy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    expect(types(sc.fire('selection_approval_due'))).toEqual(['EscalationRaised']);
    expect(sc.last('EscalationRaised').data).toMatchObject({ reason: 'approval_overdue', heldDeadline: 'selection_approval_due' });
    expect(nextDeadline(sc.state)).toBeNull();
    expect(sc.state.stage).toBe('selection');
    expect(owed(sc.state)[0]).toMatchObject({ what: 'selection_approval', dueAt: null });
    sc.afterDays(20);
    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: {} }))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
  });

  it('applies the planned narrowing by default too', () => {
    const sc = toNarrowing();
    expect(types(sc.fire('narrowing_approval_due'))).toEqual(['TeamsNarrowed']);
    expect(sc.last('TeamsNarrowed').data).toMatchObject({ approval: 'policy default', kept: ['a1', 'a2'], dropped: ['a3', 'a4', 'a5'] });
    // Nobody objects: the window runs out and the decision takes effect.
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed', 'TeamEliminated', 'TeamEliminated', 'TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted']);
  });
});

describe('selection overrides', () => {
  it('lets the program manager pick other awardees within min..max, with a rationale', () => {
    const sc = openWithApplicants(defaultPolicy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    sc.refuse({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a2', 'a6'], rationale: '' } }, 'validation_failed');
    sc.refuse({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a2'], rationale: 'too few' } }, 'validation_failed');
    sc.refuse({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a2', 'zz'], rationale: 'unknown' } }, 'validation_failed');
    sc.run({ type: 'OverrideSelection', actor: pm, data: { awardees: ['a1', 'a2', 'a6'], rationale: 'a6 brings a unique language corpus' } });
    expect(sc.last('AwardeesSelected').data).toMatchObject({ awardees: ['a1', 'a2', 'a6'], overridden: true, rationale: 'a6 brings a unique language corpus' });
  });
});

describe('a pass/fail gate', () => {
  it('removes the top-ranked team even though it ranks first', () => {
    const sc = toNarrowing(defaultPolicy, (id, e) => ({ ...modelByRank(id, e), verdicts: { safety: id === 'a1' && e === 2 ? 'fail' : 'pass' } }));
    const proposed = sc.last('NarrowingProposed').data;
    expect(proposed.result.removedByGate).toEqual([
      { candidateId: 'a1', positionBeforeGates: 1, total: expect.any(Number), failedGates: ['safety'], failScorers: ['evaluator-2'] },
    ]);
    expect(proposed.proposed).toEqual(['a2', 'a3']);
    sc.refuse({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keep: ['a1', 'a2'], rationale: 'but it is the best' } }, 'validation_failed');
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    expect(sc.last('TeamsNarrowed').data).toMatchObject({ kept: ['a2', 'a3'], dropped: ['a1', 'a4', 'a5'] });
  });
});

describe('a narrowing overridden to drop more than planned', () => {
  it('records the planned number, the decided number and the rationale', () => {
    const sc = toNarrowing();
    sc.refuse({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 1, rationale: ' ' } }, 'validation_failed');
    sc.refuse({ type: 'OverrideNarrowing', actor: pm, data: { round: 2, keepCount: 1, rationale: 'x' } }, 'conflict');
    sc.refuse({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 1, keep: ['a1'], rationale: 'x' } }, 'validation_failed');
    sc.run({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 1, rationale: 'only a1 meets the sovereign-capability bar' } });
    expect(sc.last('TeamsNarrowed').data).toMatchObject({ plannedKeep: 2, kept: ['a1'], dropped: ['a2', 'a3', 'a4', 'a5'], overridden: true, rationale: 'only a1 meets the sovereign-capability bar' });
    for (const id of ['a2', 'a3', 'a4', 'a5']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
    expect(sc.state.stage).toBe('extension');
    expect(grantsToRelease(sc.state).map((g) => g.applicationId)).toEqual(['a2', 'a3', 'a4', 'a5']);
  });
});

describe('objections', () => {
  it('an upheld objection re-runs the decision, which opens a new window', () => {
    const sc = toNarrowing();
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    sc.refuse({ type: 'ObjectToDecision', actor: applicantOf('org-a1'), data: { applicationId: 'a1', grounds: 'kept teams cannot object' } }, 'forbidden');
    sc.refuse({ type: 'ObjectToDecision', actor: applicantOf('org-a4'), data: { applicationId: 'a3', grounds: 'not my team' } }, 'forbidden');
    sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'our benchmark run used the wrong split' } });
    sc.refuse({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'again' } }, 'duplicate');
    expect(owed(sc.state).filter((o) => o.what === 'objection_decision')).toHaveLength(1);

    const decided = sc.run({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a3', upheld: true, reasoning: 'the wrong split was used' } });
    expect(types(decided)).toEqual(['ObjectionDecided', 'NarrowingProposed']);
    expect(sc.last('NarrowingProposed').data.rerun).toBe(true);
    expect(sc.state.stage).toBe('narrowing');

    sc.run({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keep: ['a1', 'a3'], rationale: 'a3 re-benchmarked on the correct split beats a2' } });
    expect(sc.last('TeamsNarrowed').data.dropped).toEqual(['a2', 'a4', 'a5']);
    sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a2'), data: { applicationId: 'a2', grounds: 'unfair' } });
    sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } });
    const closed = sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } });
    expect(types(closed)).toEqual(['ObjectionWaived', 'ObjectionWindowClosed']);
    expect(sc.last('ObjectionWindowClosed').data).toMatchObject({ early: true, pending: ['a2'] });
    const dismissed = sc.run({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a2', upheld: false, reasoning: 'no procedural error' } });
    expect(types(dismissed)).toEqual(['ObjectionDecided', 'TeamEliminated', 'TeamEliminated', 'TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted']);
    expect(sc.last('ExtensionStarted').data.finalists).toEqual(['a1', 'a3']);
    // The decision is over: its objection deadlines go with it, or a timer would fire on a decision that is gone.
    expect(nextDeadline(sc.state)).toMatchObject({ deadline: 'extension_end' });
    expect(sc.state.stage !== 'not_started' && Object.keys(sc.state.deadlines)).toEqual(['extension_end']);
  });

  it('refuses objections after the window and escalates undecided ones', () => {
    const sc = toNarrowing();
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    sc.run({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'x' } });
    expect(types(sc.fire('objection_window_end'))).toEqual(['ObjectionWindowClosed']);
    sc.refuse({ type: 'ObjectToDecision', actor: applicantOf('org-a4'), data: { applicationId: 'a4', grounds: 'late' } }, 'deadline_passed');
    expect(types(sc.fire('objection_decision_due'))).toEqual(['EscalationRaised']);
    expect(nextDeadline(sc.state)).toBeNull();
    expect(types(sc.run({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a3', upheld: false, reasoning: 'late but considered' } })).slice(0, 2)).toEqual([
      'ObjectionDecided',
      'TeamEliminated',
    ]);
  });
});
