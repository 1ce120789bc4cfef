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

  it('tells the dropped teams of a narrowing at the decision, when they may object, with the window', () => {
    const objectionWindow = { startsOn: 'notified', days: 10, notifiedBy: '2027-03-03T00:00:00.000Z' };
    const notices = noticesFor(event('TeamsNarrowed', { decisionKey: 'narrowing:1', kept: ['a1'], dropped: ['a2'], round: 1, decidedAt: '2027-03-01T00:00:00.000Z', objectionWindowEndsAt: null, objectionWindow }));
    expect(notices.map((n) => [n.key, n.kind, n.recipient])).toEqual([
      ['cycle:p:2027#9:team:a1', 'narrowing_kept', { role: 'applicant', applicationId: 'a1' }],
      ['cycle:p:2027#9:team:a2', 'narrowing_dropped', { role: 'applicant', applicationId: 'a2' }],
    ]);
    // What names this taking of the decision (the window looks for these notices' delivery) and what the mail says.
    expect(notices[1].body).toMatchObject({ applicationId: 'a2', decisionKey: 'narrowing:1', decidedAt: '2027-03-01T00:00:00.000Z', objectionWindow });
  });

  it('tells every team the cycle still held when it is cancelled, and the managers; an older record without the teams tells the managers as before', () => {
    const cancelled = noticesFor(event('CycleCancelled', { reason: 'budget', by: 'pm-1', at: '2027-03-01T00:00:00.000Z', stage: 'grant', affected: ['a1', 'a2'] }));
    expect(cancelled.map((n) => [n.kind, n.recipient])).toEqual([
      ['cycle_cancelled', { role: 'applicant', applicationId: 'a1' }],
      ['cycle_cancelled', { role: 'applicant', applicationId: 'a2' }],
      ['cycle_cancelled', { role: 'program_manager' }],
    ]);
    expect(noticesFor(event('CycleCancelled', { reason: 'budget', by: 'pm-1', at: '2027-03-01T00:00:00.000Z', stage: 'grant' })).map((n) => n.recipient.role)).toEqual(['program_manager']);
  });

  it('tells a team dropped after a review round', () => {
    expect(noticesFor(event('ReviewRoundClosed', { round: 1, kept: ['a1'], dropped: ['a2', 'a3'], closedAt: '2027-02-01T00:00:00.000Z' })).map((n) => [n.kind, n.recipient, n.dueAt])).toEqual([
      ['dropped_in_review', { role: 'applicant', applicationId: 'a2' }, '2027-02-01T00:00:00.000Z'],
      ['dropped_in_review', { role: 'applicant', applicationId: 'a3' }, '2027-02-01T00:00:00.000Z'],
    ]);
  });

  it('covers every decision the issue lists: one kind per outcome, for the people it concerns', () => {
    const kinds = (type: string, data: Record<string, unknown>) => noticesFor(event(type, data)).map((n) => `${n.kind}>${n.recipient.role}`);
    expect(kinds('AwardeesSelected', { awardees: ['a1'], notSelected: ['a2'] })).toEqual(['selected>applicant', 'not_selected>applicant']);
    expect(kinds('EvaluationSubmissionsClosed', { roundKey: 'evaluation:1', submitted: ['a1'], missing: ['a2'], outcome: 'score_zero' })).toEqual(['submission_missing>applicant']);
    expect(kinds('ObjectionDecided', { applicationId: 'a2', upheld: false, reasoning: 'r' })).toEqual(['objection_decided>applicant']);
    expect(kinds('RefillEntrantsSelected', { entrants: ['a9'], notSelected: ['a10'] })).toEqual(['refill_selected>applicant', 'refill_not_selected>applicant']);
    expect(kinds('GrantStarted', { applicationId: 'a1', grantId: 'g' })).toEqual(['grant_started>applicant']);
    expect(kinds('GrantExtended', { applicationId: 'a1', grantId: 'g', extendedUntil: '2028-01-01T00:00:00.000Z' })).toEqual(['grant_extended>applicant']);
    expect(kinds('GrantEnded', { applicationId: 'a1', grantId: 'g', reason: 'eliminated' })).toEqual(['grant_ended>applicant']);
    expect(kinds('GrantGpusChanged', { applicationId: 'a1', grantId: 'g', gpus: [{ type: 'H100', count: 64 }], previous: null, cause: 'override', rationale: 'r' })).toEqual(['grant_gpus_changed>applicant']);
    expect(kinds('GrantGpusWithheld', { applicationId: 'a1', grantId: 'g', kind: 'refused', retryUntil: null })).toEqual(['grant_gpus_withheld>applicant']);
    expect(kinds('GrantGpusServed', { applicationId: 'a1', grantId: 'g', served: 8 })).toEqual(['grant_gpus_served>applicant']);
    expect(kinds('ProcurementOpened', { finalists: ['a1'] })).toEqual(['procurement_opened>applicant']);
    expect(kinds('ProcurementAwarded', { applicationId: 'a1', contractId: 'c' })).toEqual(['procurement_awarded>applicant']);
    expect(kinds('ModelReleased', { applicationId: 'a1', repository: 'r', licence: 'l' })).toEqual(['model_released>applicant']);
    expect(kinds('GrantReportReviewed', { applicationId: 'a1', grantId: 'g', reportId: 'm1', kind: 'milestone', outcome: 'accepted' })).toEqual(['grant_report_reviewed>applicant']);
    expect(kinds('GrantReportConsequenceApplied', { applicationId: 'a1', grantId: 'g', reportId: 'm1', action: 'throttle', at: '2027-06-01T00:00:00.000Z' })).toEqual([
      'grant_report_consequence>applicant',
      'grant_report_consequence>program_manager',
    ]);
    // Reminders, escalations and GPU thresholds are the workflows' own outbox rows (see the workflow specs), never an event's notice.
    expect(kinds('EscalationRaised', { reason: 'approval_overdue' })).toEqual([]);
  });
});
