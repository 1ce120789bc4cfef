import { defaultPolicy } from '../policy/defaults';
import { grantsToRelease, isCycleOver, nextReminderAt, plannedReminders, remindersDue, shareFreedGpus } from './obligations';
import { applicantOf, endGrants, openWithApplicants, pm, reviewAll, playToGrants } from './testing';

describe('reminders', () => {
  it('go to those who still owe something, at the policy offsets, with deterministic keys', () => {
    const sc = openWithApplicants(defaultPolicy, 2);
    sc.fire('call_close');
    reviewAll(sc, undefined, [1, 2]);
    const planned = plannedReminders(sc.state);
    // Only reviewer-3 still owes reviews: one reminder 7 days and one 1 day before the due date.
    expect(planned).toEqual([
      {
        key: 'cycle:select-and-concentrate:2027:reminder:review_due:2027-02-24T09:00:00.000Z:P7D:reviewer/reviewer-3/review-org-3',
        at: '2027-02-17T09:00:00.000Z',
        offset: 'P7D',
        deadline: 'review_due',
        dueAt: '2027-02-24T09:00:00.000Z',
        recipient: { role: 'reviewer', subject: 'reviewer-3', organisationId: 'review-org-3' },
        items: [
          { what: 'review', applicationId: 'a1' },
          { what: 'review', applicationId: 'a2' },
        ],
      },
      expect.objectContaining({ at: '2027-02-23T09:00:00.000Z', offset: 'P1D' }),
    ]);
    expect(nextReminderAt(sc.state, sc.now)).toBe('2027-02-17T09:00:00.000Z');
    expect(remindersDue(sc.state, '2027-02-17T09:00:00.000Z', sc.now).map((r) => r.offset)).toEqual(['P7D']);
    expect(remindersDue(sc.state, '2027-02-23T09:00:00.000Z', '2027-02-17T09:00:00.000Z').map((r) => r.offset)).toEqual(['P1D']);
    expect(remindersDue(sc.state, '2027-02-16T09:00:00.000Z', sc.now)).toEqual([]);

    reviewAll(sc, undefined, [3]);
    expect(plannedReminders(sc.state)).toEqual([]);
  });
});

describe('sharing freed GPUs and the end of a cycle', () => {
  const inGrant = () => playToGrants({ applicants: 3 });
  const grant = (id: string) => `grant:select-and-concentrate:2027:${id}`;

  it('splits a leaving team’s GPUs evenly among the grants still running, remainder in id order', () => {
    const sc = inGrant();
    sc.run({ type: 'WithdrawApplication', actor: applicantOf('org-a3'), data: { applicationId: 'a3' } });
    expect(shareFreedGpus(sc.state, { grantId: grant('a3'), reason: 'withdrawn', count: 513 })).toEqual([
      { grantId: grant('a1'), count: 257 },
      { grantId: grant('a2'), count: 256 },
    ]);
    expect(shareFreedGpus(sc.state, { grantId: grant('a3'), reason: 'completed', count: 512 })).toEqual([]);
  });

  it('is over only once closed or cancelled and every grant has ended', () => {
    const sc = inGrant();
    expect(isCycleOver(sc.state)).toBe(false);
    sc.run({ type: 'CancelCycle', actor: pm, data: { reason: 'budget withdrawn' } });
    expect(isCycleOver(sc.state)).toBe(false);
    endGrants(sc, grantsToRelease(sc.state));
    expect(isCycleOver(sc.state)).toBe(true);
  });
});
