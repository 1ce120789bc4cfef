import { defaultPolicy } from '../policy/defaults';
import { policyHash } from '../policy/parse';
import { nextCycle } from './next-year';
import { grantsToRelease, grantsToStart, nextDeadline, owed } from './obligations';
import { applicantOf, endGrants, evaluateAll, contractCommand, openWithApplicants, pm, reviewAll, startGrants, types } from './testing';

describe('the default policy year: 8 applicants → 5 selected → 2 finalists → procurement → closed', () => {
  it('runs every stage in order, each decision recording what it was decided from', () => {
    const sc = openWithApplicants(defaultPolicy, 8);
    expect(sc.state.stage).toBe('call');
    expect(nextDeadline(sc.state)).toEqual({ deadline: 'call_close', at: '2027-02-03T09:00:00.000Z' });

    expect(types(sc.fire('call_close'))).toEqual(['CallClosed', 'ReviewRoundOpened']);
    expect(sc.state.stage).toBe('review');
    expect(owed(sc.state).filter((o) => o.what === 'review')).toHaveLength(24);
    reviewAll(sc);
    expect(owed(sc.state)).toEqual([]);

    expect(types(sc.fire('review_due'))).toEqual(['ReviewRoundClosed', 'SelectionProposed']);
    const proposal = sc.last('SelectionProposed').data;
    expect(proposal.proposed).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(sc.state.stage).toBe('selection');

    sc.afterDays(2);
    expect(types(sc.run({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } }))).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    const selected = sc.last('AwardeesSelected').data;
    expect(selected.awardees).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(selected.notSelected).toEqual(['a6', 'a7', 'a8']);
    expect(selected.policyHash).toBe(policyHash(defaultPolicy));
    expect(selected.scoreCount).toBe(24);
    expect(selected.approval).toMatchObject({ by: 'pm-1', rationale: 'as ranked' });
    expect(sc.state.stage).toBe('grant');

    const toStart = grantsToStart(sc.state);
    expect(toStart.map((g) => g.grantId)).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => `grant:select-and-concentrate:2027:${id}`));
    expect(toStart[0].gpus).toEqual([{ type: 'H100', count: 512 }]);
    startGrants(sc, toStart);
    expect(grantsToStart(sc.state)).toEqual([]);

    expect(types(sc.fire('grant_period_end'))).toEqual(['GrantPeriodEnded', 'EvaluationRoundOpened']);
    expect(sc.state.stage).toBe('evaluation');
    evaluateAll(sc);
    expect(types(sc.fire('evaluation_submission_due'))).toEqual(['EvaluationSubmissionsClosed']);
    expect(types(sc.fire('evaluation_scoring_due'))).toEqual(['NarrowingProposed']);
    expect(sc.last('NarrowingProposed').data.proposed).toEqual(['a1', 'a2']);

    expect(types(sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } }))).toEqual(['TeamsNarrowed']);
    expect(sc.state.stage).toBe('objection');
    sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } });
    sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } });
    const last = sc.run({ type: 'WaiveObjection', actor: applicantOf('org-a5'), data: { applicationId: 'a5' } });
    expect(types(last)).toEqual([
      'ObjectionWaived',
      'ObjectionWindowClosed',
      'TeamEliminated',
      'TeamEliminated',
      'TeamEliminated',
      'GrantExtended',
      'GrantExtended',
      'ExtensionStarted',
    ]);
    expect(sc.state.stage).toBe('extension');
    const released = grantsToRelease(sc.state);
    expect(released.map((g) => [g.applicationId, g.reason])).toEqual([
      ['a3', 'eliminated'],
      ['a4', 'eliminated'],
      ['a5', 'eliminated'],
    ]);
    endGrants(sc, released);
    expect(grantsToRelease(sc.state)).toEqual([]);

    expect(types(sc.fire('extension_end'))).toEqual(['ExtensionEnded', 'ProcurementOpened']);
    expect(sc.state.stage).toBe('procurement');
    endGrants(sc, grantsToRelease(sc.state));

    for (const id of ['a1', 'a2']) sc.run(contractCommand(id));
    sc.run({ type: 'RecordReleaseDeclaration', actor: applicantOf('org-a1'), data: { applicationId: 'a1', repository: 'https://git.example/a1/base', licence: 'Apache-2.0', artifacts: [{ name: 'weights.safetensors', sha256: 'b'.repeat(64) }] } });
    const closing = sc.run({ type: 'RecordReleaseDeclaration', actor: applicantOf('org-a2'), data: { applicationId: 'a2', repository: 'https://git.example/a2/base', licence: 'MIT', artifacts: [{ name: 'weights.safetensors', sha256: 'c'.repeat(64) }] } });
    expect(types(closing)).toEqual(['ModelReleased', 'CycleClosed']);
    expect(sc.last('CycleClosed').data).toMatchObject({ outcome: 'completed', finalists: ['a1', 'a2'], outstanding: [], nextCycleOpensAt: '2028-01-04T09:00:00.000Z' });
    expect(sc.state.stage).toBe('closed');
    // Next year follows, opening when CycleClosed says: one repeat period after this call opened.
    expect(nextCycle(sc.state)).toEqual({ year: 2028, after: '2027-01-04T09:00:00.000Z', repeatEvery: 'P1Y', opensAt: '2028-01-04T09:00:00.000Z' });
    expect(nextDeadline(sc.state)).toBeNull();
    expect(grantsToRelease(sc.state)).toEqual([]);

    // Every event is plain JSON: it survives a round trip unchanged.
    expect(JSON.parse(JSON.stringify(sc.events))).toEqual(sc.events);
  });
});
