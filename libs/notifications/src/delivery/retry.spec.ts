import { DEFAULT_RETRY, retryDelayMs } from './retry';
import { render } from '../messages/templates';

describe('retry schedule', () => {
  it('doubles from the initial wait up to the cap, jittered into [half, whole], the same for the same key and attempt', () => {
    for (let attempt = 1; attempt <= 12; attempt += 1) {
      const full = Math.min(DEFAULT_RETRY.maxMs, DEFAULT_RETRY.initialMs * 2 ** (attempt - 1));
      const delay = retryDelayMs(DEFAULT_RETRY, 'k', attempt);
      expect(delay).toBeGreaterThanOrEqual(full / 2);
      expect(delay).toBeLessThanOrEqual(full);
      expect(retryDelayMs(DEFAULT_RETRY, 'k', attempt)).toBe(delay);
    }
    const spread = new Set(['a', 'b', 'c', 'd', 'e'].map((k) => retryDelayMs(DEFAULT_RETRY, k, 3)));
    expect(spread.size).toBeGreaterThan(1);
  });
});

describe('templates', () => {
  it('escape what the HTML part shows and fall back to the kind for one without a template', () => {
    const html = render('objection_decided', { applicationId: 'a1', upheld: false, reasoning: '<b>late</b> & short' }, { cycleId: 'c', language: 'en', timeZone: 'UTC', recipientName: null }).html;
    expect(html).toContain('&lt;b&gt;late&lt;/b&gt; &amp; short');
    expect(render('something_new', {}, { cycleId: 'c', language: 'ko', timeZone: 'UTC', recipientName: null }).subject).toBe('something_new (c)');
  });
});
