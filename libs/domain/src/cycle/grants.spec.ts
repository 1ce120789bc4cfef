import { defaultPolicy, multiRoundExamplePolicy } from '../policy/defaults';
import { grantsToRelease, grantsToStart, nextDeadline } from './obligations';
import { applicantOf, endGrants, evaluateAll, openWithApplicants, pm, reviewAll, type Scenario, system, types, playToGrants } from './testing';

const toGrant = (policy = defaultPolicy): Scenario => playToGrants({ policy });

describe('a team withdrawing mid-grant', () => {
  it('has its GPUs released and is left out of the evaluation', () => {
    const sc = toGrant();
    sc.afterDays(60);
    sc.refuse({ type: 'WithdrawApplication', actor: applicantOf('org-a4'), data: { applicationId: 'a3' } }, 'forbidden');
    expect(types(sc.run({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3', reason: 'merged with another lab' } }))).toEqual(['ApplicationWithdrawn']);
    sc.refuse({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } }, 'duplicate');
    const release = grantsToRelease(sc.state);
    expect(release).toEqual([{ applicationId: 'a3', grantId: 'grant:select-and-concentrate:2027:a3', status: 'active', reason: 'withdrawn' }]);
    endGrants(sc, release);
    expect(grantsToRelease(sc.state)).toEqual([]);
    sc.fire('grant_period_end');
    expect(sc.last('EvaluationRoundOpened').data.teams).toEqual(['a1', 'a2', 'a4', 'a5']);
  });
});

describe('a cycle cancelled mid-grant', () => {
  it('releases every grant and refuses everything but grant facts', () => {
    const sc = toGrant();
    sc.afterDays(30);
    sc.refuse({ type: 'CancelCycle', actor: applicantOf('org-a1'), data: { reason: 'x' } }, 'forbidden');
    sc.refuse({ type: 'CancelCycle', actor: pm, data: { reason: '' } }, 'validation_failed');
    expect(sc.run({ type: 'CancelCycle', actor: pm, data: { reason: 'budget withdrawn by parliament' } })).toEqual([
      { type: 'CycleCancelled', data: { reason: 'budget withdrawn by parliament', by: 'pm-1', at: sc.now, stage: 'grant', affected: ['a1', 'a2', 'a3', 'a4', 'a5'] } },
    ]);
    expect(sc.state.stage).toBe('cancelled');
    expect(nextDeadline(sc.state)).toBeNull();
    expect(grantsToStart(sc.state)).toEqual([]);
    const release = grantsToRelease(sc.state);
    expect(release.map((g) => [g.applicationId, g.reason])).toEqual(['a1', 'a2', 'a3', 'a4', 'a5'].map((id) => [id, 'cancelled']));
    sc.refuse({ type: 'WithdrawApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1' } }, 'invalid_state');
    sc.refuse({ type: 'CancelCycle', actor: pm, data: { reason: 'again' } }, 'invalid_state');
    endGrants(sc, release);
    expect(grantsToRelease(sc.state)).toEqual([]);
    sc.refuse({ type: 'RecordGrantEnded', actor: system, data: { applicationId: 'a1', grantId: release[0].grantId, reason: 'cancelled' } }, 'duplicate');
  });

  it('accepts the cancellation the workflow records when an operator cancels it from outside', () => {
    const sc = toGrant();
    sc.refuse({ type: 'CancelCycle', actor: { role: 'reviewer', subject: 'reviewer-1' }, data: { reason: 'x' } }, 'forbidden');
    expect(sc.run({ type: 'CancelCycle', actor: system, data: { reason: 'workflow cancelled by an operator' } })).toEqual([
      { type: 'CycleCancelled', data: { reason: 'workflow cancelled by an operator', by: 'workflow', at: sc.now, stage: 'grant', affected: ['a1', 'a2', 'a3', 'a4', 'a5'] } },
    ]);
    expect(grantsToRelease(sc.state).map((g) => g.reason)).toEqual(['cancelled', 'cancelled', 'cancelled', 'cancelled', 'cancelled']);
  });

  it('records a pending grant that never started as ended', () => {
    const sc = openWithApplicants(defaultPolicy, 8);
    sc.fire('call_close');
    reviewAll(sc);
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    sc.run({ type: 'CancelCycle', actor: pm, data: { reason: 'stop' } });
    expect(grantsToRelease(sc.state).every((g) => g.status === 'pending')).toBe(true);
  });
});

describe('a three-round program (5 → 4 → 3 → 2)', () => {
  it('narrows one team per round and extends the last two', () => {
    const sc = toGrant(multiRoundExamplePolicy);
    sc.fire('grant_period_end');
    const keptPerRound: string[][] = [];
    for (const round of [1, 2, 3]) {
      expect(sc.last('EvaluationRoundOpened').data.round).toBe(round);
      evaluateAll(sc);
      sc.fire('evaluation_submission_due');
      sc.fire('evaluation_scoring_due');
      sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round } });
      const narrowed = sc.last('TeamsNarrowed').data;
      keptPerRound.push(narrowed.kept);
      expect(narrowed.dropped).toHaveLength(1);
      sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${narrowed.dropped[0]}`), data: { applicationId: narrowed.dropped[0] } });
      endGrants(sc, grantsToRelease(sc.state));
    }
    expect(keptPerRound.map((k) => k.length)).toEqual([4, 3, 2]);
    expect(keptPerRound[2]).toEqual(['a1', 'a2']);
    expect(sc.state.stage).toBe('extension');
    expect(types(sc.fire('extension_end'))).toEqual(['ExtensionEnded', 'ProcurementOpened']);
  });
});
