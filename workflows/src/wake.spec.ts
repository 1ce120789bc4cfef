/**
 * What the cycle's next timer is armed for: the earlier of the next deadline and the next reminder
 * still to write, a deadline winning a tie (its reminders are written when it fires).
 */
import { addDuration, defaultPolicy, nextDeadline, plannedReminders } from '@concentra/domain';
import { openWithApplicants } from '../../libs/domain/src/cycle/testing';
import { nextWake, wakeKey } from './wake';

describe('nextWake', () => {
  // In review, the panel owes reviews by the review deadline: reminders 7 days and 1 day before it.
  const sc = openWithApplicants(defaultPolicy, 2);
  sc.fire('call_close');
  const close = nextDeadline(sc.state)!;
  const opened = sc.now;
  const [early, late] = [...new Set(plannedReminders(sc.state).map((r) => r.at))];

  it('is the first reminder after the reminders already written, before the deadline', () => {
    expect(close.deadline).toBe('review_due');
    expect(early).toBe(addDuration(close.at, 'P7D', -1));
    expect(nextWake(sc.state, opened)).toEqual({ at: early, deadline: null });
    expect(nextWake(sc.state, early)).toEqual({ at: late, deadline: null });
  });

  it('is the deadline once its reminders are written, and names it', () => {
    expect(late).toBe(addDuration(close.at, 'P1D', -1));
    const wake = nextWake(sc.state, late);
    expect(wake).toEqual({ at: close.at, deadline: { kind: 'review_due', at: close.at } });
    expect(wakeKey(wake)).toBe(`review_due@${close.at}`);
  });

  it('arms nothing before the call opens (no reminder instant is known yet)', () => {
    expect(nextWake({ stage: 'not_started' }, null)).toBeNull();
    expect(wakeKey(null)).toBeNull();
  });
});
