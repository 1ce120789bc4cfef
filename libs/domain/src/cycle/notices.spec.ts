import { noticesFor } from './notices';

const event = (type: string, data: Record<string, unknown>, streamId = 'cycle:p:2027') => ({ eventId: `${streamId}#9`, streamId, type, data, occurredAt: '2027-03-01T00:00:00.000Z' });

describe('noticesFor: who a recorded decision must tell', () => {
  it('tells every selected and every not-selected team, keyed by event and team', () => {
    const notices = noticesFor(event('AwardeesSelected', { awardees: ['a1', 'a2'], notSelected: ['a3'], decidedAt: '2027-02-01T00:00:00.000Z', objectionWindowEndsAt: null }));
    expect(notices.map((n) => [n.key, n.kind, n.recipient])).toEqual([
      ['cycle:p:2027#9:team:a1', 'selected', { role: 'applicant', applicationId: 'a1' }],
      ['cycle:p:2027#9:team:a2', 'selected', { role: 'applicant', applicationId: 'a2' }],
      ['cycle:p:2027#9:team:a3', 'not_selected', { role: 'applicant', applicationId: 'a3' }],
    ]);
    expect(notices[0].dueAt).toBe('2027-02-01T00:00:00.000Z');
  });

  it('tells the kept and (through their elimination) the dropped teams of a narrowing, and the teams and managers of a missed procurement deadline', () => {
    expect(noticesFor(event('TeamsNarrowed', { kept: ['a1'], dropped: ['a2'], round: 1 })).map((n) => n.kind)).toEqual(['narrowing_kept']);
    expect(noticesFor(event('TeamEliminated', { applicationId: 'a2', round: 1, reason: 'narrowed' })).map((n) => [n.kind, n.recipient])).toEqual([['eliminated', { role: 'applicant', applicationId: 'a2' }]]);
    expect(noticesFor(event('ProcurementDeadlinePassed', { deadline: 'release_due', missing: ['a1'], at: '2028-01-01T00:00:00.000Z' })).map((n) => [n.kind, n.recipient.role])).toEqual([
      ['procurement_missing', 'applicant'],
      ['procurement_missing', 'program_manager'],
    ]);
    expect(noticesFor(event('ProcurementDeadlinePassed', { deadline: 'release_due', missing: [], at: '2028-01-01T00:00:00.000Z' }))).toEqual([]);
  });

  it('says nothing for events that decide nothing about people, or outside a cycle', () => {
    expect(noticesFor(event('ReviewSubmitted', { applicationId: 'a1' }))).toEqual([]);
    expect(noticesFor(event('GrantStarted', { applicationId: 'a1', grantId: 'g' }, 'gpu-pool'))).toEqual([]);
  });
});
