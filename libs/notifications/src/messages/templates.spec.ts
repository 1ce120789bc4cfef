import { NOTICE_KINDS } from '@concentra/domain';
import { hasTemplate, render } from './templates';

describe('templates', () => {
  // The workflows' own rows (reminders, escalations, GPU thresholds) and every decision notice.
  const kinds = ['reminder', 'escalation', 'gpu_usage', ...NOTICE_KINDS];

  it.each(['en', 'ko'] as const)('give every kind of notice its own words in %s', (language) => {
    expect(kinds.filter((kind) => !hasTemplate(kind, language))).toEqual([]);
  });

  it('tell a team whose window starts on notice how long it has from the notice, in its language', () => {
    const body = { applicationId: 'a3', round: 1, decidedAt: '2027-09-01T00:00:00.000Z', objectionWindowEndsAt: null, objectionWindow: { startsOn: 'notified', days: 10, notifiedBy: '2027-09-03T00:00:00.000Z' } };
    const ctx = { cycleId: 'cycle:p:2027', timeZone: 'Asia/Seoul', recipientName: null };
    expect(render('narrowing_dropped', body, { ...ctx, language: 'en' }).text).toContain('Team a3 was not kept in narrowing round 1 (decided 1 September 2027 at 09:00 GMT+9). You may object within 10 days of receiving this notice.');
    expect(render('narrowing_dropped', body, { ...ctx, language: 'ko' }).text).toContain('이의 신청은 이 안내를 받은 때부터 10일 이내에 가능합니다.');
    // A kept team cannot object: it reads that the decision is not final yet.
    const kept = render('narrowing_kept', { ...body, applicationId: 'a1' }, { ...ctx, language: 'en' }).text;
    expect(kept).toContain('It becomes final once the objection window of the teams it goes against has run.');
    expect(kept).not.toContain('You may object');
  });

  it('tell a team rejected for missing its peer reviews why, in its language (issue 15)', () => {
    const ctx = { cycleId: 'c', timeZone: 'UTC', recipientName: null };
    const body = { applicationId: 'a4', round: 1, reason: 'peer_reviews_missed' };
    expect(render('dropped_in_review', body, { ...ctx, language: 'en' }).text).toContain("Application a4 was not kept after review round 1. It did not submit its assigned peer reviews by the deadline, and the program's policy rejects the application then.");
    expect(render('dropped_in_review', body, { ...ctx, language: 'ko' }).text).toContain('동료 심사를 제출하지 않아');
    expect(render('dropped_in_review', { applicationId: 'a4', round: 1 }, { ...ctx, language: 'en' }).text).not.toContain('peer reviews');
  });

  it('name the GPU amounts of a changed grant as alternatives', () => {
    const body = { applicationId: 'a1', grantId: 'grant:p:2027:a1', gpus: [{ type: 'H100', count: 64 }, { type: 'A100', count: 128 }], previous: [{ type: 'H100', count: 32 }], rationale: null };
    expect(render('grant_gpus_changed', body, { cycleId: 'c', language: 'en', timeZone: 'UTC', recipientName: 'Kim' }).text).toContain('Team a1 now has 64 × H100 or 128 × A100 (before: 32 × H100).');
  });
});
