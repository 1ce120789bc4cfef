import { playToGrants, system, types } from './testing';

const refused = (applicationId: string, grantId: string) => ({
  type: 'RecordLedgerRefusal' as const,
  actor: system,
  data: { applicationId, grantId, change: 'GPU amount', code: 'invalid_state', message: `grant ${grantId} holds no live allocation to change` },
});

describe('a change the GPU ledger refused for good', () => {
  it('given a running grant, when its workflow reports the refusal, then it is recorded and escalated, and the grant stays active', () => {
    const sc = playToGrants();
    const { grantId } = sc.running.grants.a2;
    expect(types(sc.run(refused('a2', grantId)))).toEqual(['GrantChangeRefused', 'EscalationRaised']);
    expect(sc.last('GrantChangeRefused').data).toMatchObject({ applicationId: 'a2', grantId, change: 'GPU amount', code: 'invalid_state' });
    expect(sc.last('EscalationRaised').data).toMatchObject({ reason: 'ledger_refusal', subject: grantId, heldDeadline: null, details: expect.stringContaining('goes on with its allocation as it was') });
    expect(sc.running.grants.a2.status).toBe('active');
    expect(sc.running.escalations.map((e) => e.reason)).toContain('ledger_refusal');
  });

  it('only the workflow may report it, for the team\'s own grant, with a change, a code and a message', () => {
    const sc = playToGrants();
    const { grantId } = sc.running.grants.a2;
    sc.refuse({ ...refused('a2', grantId), actor: { role: 'program_manager', subject: 'pm-1' } }, 'forbidden');
    sc.refuse(refused('a2', 'grant:other'), 'validation_failed');
    sc.refuse(refused('a9', grantId), 'not_found');
    sc.refuse({ ...refused('a2', grantId), data: { ...refused('a2', grantId).data, message: ' ' } }, 'validation_failed');
  });
});
