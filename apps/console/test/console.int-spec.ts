/**
 * The web console in a real browser against the real stack (PostgreSQL, the Temporal dev server,
 * the worker, the admin API serving the built console): a program manager starts a cycle, two
 * applicants apply, two reviewers score, the program manager approves the selection, an auditor
 * verifies; an applicant sees no per-team scores. Every page is checked with axe-core and the main
 * ones are photographed into test-results/console/.
 */
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { cycleUnderTest, eventually, expectStatus, pm, shortPolicy } from '../../admin-api/test/cycle-commands.support';
import { buildConsole, launchChromium, screenshot, seriousViolations, signedIn } from './browser';

jest.setTimeout(300_000);

const consoleDir = buildConsole();
process.env.CONSOLE_DIR = consoleDir;
const { h, slug, year, id, liveStage, waitForStage, get } = cycleUnderTest('console', 2031);

describe('the web console', () => {
  let browser: Browser;
  let base: string;
  const pages: Page[] = [];
  const axe: Record<string, string[]> = {};
  /** Checks the page with axe and keeps what it found, by page name; the last test asserts on all of them. */
  const check = async (page: Page, name: string, photo = true) => {
    axe[name] = await seriousViolations(page);
    if (photo) await screenshot(page, name);
  };

  beforeAll(async () => {
    await h.api.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(h.api.getHttpServer().address() as AddressInfo).port}`;
    browser = await launchChromium();
    const policy = { ...shortPolicy({ afterApplications: 2, review: 'PT40S' }), program: slug };
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Console test program', policy }), 201);
  });
  afterAll(async () => {
    for (const page of pages) await page.context().close();
    await browser?.close();
    rmSync(consoleDir, { recursive: true, force: true });
  });

  it('signs a program manager in, who starts a cycle and sees its pipeline, deadline and what is owed', async () => {
    const page = await signedIn(browser, base, { role: 'program_manager', sub: 'pm-1' });
    pages.push(page);
    await check(page, 'programs-empty', false);
    await page.getByLabel('Year').fill(String(year));
    await page.getByLabel(/^Panel/).fill('reviewer reviewer-1 rev-org-1\nreviewer reviewer-2 rev-org-2');
    await page.getByRole('button', { name: `Start cycle (${slug})` }).click();
    await page.getByRole('heading', { name: id, level: 1 }).waitFor();
    await page.locator('.pipeline .stage.now', { hasText: 'Call for applications' }).waitFor();
    await page.getByTestId('countdown').waitFor();
    expect(await liveStage()).toBe('call');
    await check(page, 'pm-cycle-call');
  });

  it('takes two applications from two applicants, each seeing only their own', async () => {
    for (const org of ['org-a', 'org-b']) {
      const page = await signedIn(browser, base, { role: 'applicant', sub: `user@${org}`, org });
      pages.push(page);
      await page.goto(`${base}/console/cycles/${encodeURIComponent(id)}`);
      await page.getByLabel('Title').fill(`Model from ${org}`);
      await page.getByLabel('Summary').fill(`A foundation model built by ${org}.`);
      await page.getByRole('button', { name: 'Submit' }).click();
      await page.getByTestId('own-application').filter({ hasText: `Model from ${org}` }).waitFor();
      expect(await page.getByTestId('own-application').count()).toBe(1);
      if (org === 'org-a') await check(page, 'applicant-applied');
    }
    await waitForStage('review');
  });

  it('lets two reviewers score both applications on forms made from the policy', async () => {
    for (const n of [1, 2]) {
      const page = await signedIn(browser, base, { role: 'reviewer', sub: `reviewer-${n}`, org: `rev-org-${n}` });
      pages.push(page);
      await page.goto(`${base}/console/cycles/${encodeURIComponent(id)}`);
      const forms = page.locator('article.score-form');
      await eventually('two scoring forms', async () => (await forms.count()) === 2, 30_000);
      if (n === 1) await check(page, 'reviewer-scoring');
      for (const [i, org] of ['org-a', 'org-b'].entries()) {
        const form = forms.filter({ hasText: `Model from ${org}` });
        await form.getByLabel(/^Technical approach/).fill(String(9 - i * 3));
        await form.getByLabel(/^Team and track record/).fill(String(8 - i));
        await form.getByLabel(/^Public impact/).fill(String(7));
        await form.getByRole('button', { name: /^Submit/ }).click();
        // Sent: the form says so, or it leaves the list of what this reviewer still owes.
        await eventually(`review of ${org} sent`, async () => (await form.count()) === 0 || (await form.getByRole('status').isVisible()), 30_000);
      }
    }
    const sheets = await eventually('four reviews recorded', async () => {
      const events = expectStatus(await get('/timeline', pm), 200).body.events as { type: string }[];
      const n = events.filter((e) => e.type === 'ReviewSubmitted').length;
      return n === 4 ? n : undefined;
    });
    expect(sheets).toBe(4);
  });

  it('shows the program manager the ranking and the selection waiting, and takes the approval', async () => {
    await waitForStage('selection', 120_000);
    const page = pages[0];
    await page.reload();
    const decision = page.getByTestId('decision');
    await decision.waitFor();
    await page.getByTestId('ranking').first().waitFor();
    await page.getByRole('heading', { name: 'Notifications sent' }).waitFor();
    await check(page, 'pm-cycle-selection');
    await page.getByRole('button', { name: 'Approve the proposed selection' }).click();
    await eventually('the selection approved', async () => ((await liveStage()) !== 'selection' ? true : undefined), 60_000);
    const awardees = expectStatus(await get('/awardees', pm), 200).body as { decisions: { kind: string }[] };
    expect(awardees.decisions.map((d) => d.kind)).toContain('selection');
  });

  it('lets an auditor verify the chains, re-derive the decisions and read the access log', async () => {
    const page = await signedIn(browser, base, { role: 'auditor', sub: 'auditor-1' });
    pages.push(page);
    await page.goto(`${base}/console/cycles/${encodeURIComponent(id)}`);
    await page.getByTestId('timeline').locator('li').first().waitFor();
    await page.getByRole('button', { name: 'Verify hash chains' }).click();
    await expectText(page, 'verify-result', '"explanation": null');
    await page.getByRole('button', { name: 'Re-derive decisions' }).click();
    await page.getByTestId('rederive-result').waitFor();
    await check(page, 'auditor-cycle');
    await page.getByRole('link', { name: 'Access log' }).click();
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByTestId('access-log').locator('tbody tr').first().waitFor();
    await check(page, 'auditor-access-log');
    await page.getByRole('link', { name: 'GPU pool' }).click();
    await page.locator('.recharts-surface').first().waitFor();
    await check(page, 'gpu-pool');
  });

  it("keeps another team's scores from an applicant", async () => {
    const page = pages[1];
    await page.reload();
    await page.getByTestId('own-application').first().waitFor();
    await page.getByTestId('published-ranking').first().waitFor();
    expect(await page.getByTestId('ranking').count()).toBe(0);
    const text = await page.locator('main').innerText();
    expect(text).not.toContain('org-b');
    expect(text).not.toMatch(/Model from org-b/);
    await page.getByLabel('Language').selectOption('ko');
    await page.getByRole('heading', { name: '순위' }).waitFor();
    await check(page, 'applicant-cycle-ko');
  });

  it('has no serious or critical accessibility violations on any page', () => {
    expect(Object.keys(axe).length).toBeGreaterThanOrEqual(8);
    expect(axe).toEqual(Object.fromEntries(Object.keys(axe).map((k) => [k, []])));
  });
});

async function expectText(page: Page, testId: string, text: string): Promise<void> {
  await page.getByTestId(testId).waitFor();
  expect(await page.getByTestId(testId).innerText()).toContain(text);
}
