/**
 * The console's browser tests: Debian's Chromium (tools/chromium.sh installs it where missing) driven
 * by playwright-core, the console built by Vite into a temp folder, axe-core on every page, and
 * screenshots of the main pages in test-results/console/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = join(__dirname, '..', '..', '..');
export const SCREENSHOTS = join(ROOT, 'test-results', 'console');

/** Builds the console as `npm run build` does, into a folder of its own (the API serves it via CONSOLE_DIR). */
export function buildConsole(): string {
  const out = mkdtempSync(join(tmpdir(), 'concentra-console-'));
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', join(ROOT, 'apps', 'console'), '--outDir', out, '--emptyOutDir'], {
    stdio: 'pipe',
    // Jest's NODE_ENV=test would make Vite bundle React's development build.
    env: { ...process.env, NODE_ENV: 'production' },
  });
  return out;
}

export async function launchChromium(): Promise<Browser> {
  const executablePath = execFileSync(join(ROOT, 'tools', 'chromium.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** A fresh browser context (its own session storage) signed in through the local sign-in page. */
export async function signedIn(browser: Browser, base: string, who: { role: string; sub: string; org?: string }): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB', timezoneId: 'Asia/Seoul' });
  const page = await context.newPage();
  await page.goto(`${base}/console/`);
  await page.getByLabel('Role').selectOption(who.role);
  if (who.org) await page.getByLabel('Organisation').fill(who.org);
  await page.getByLabel('User name').fill(who.sub);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('principal').waitFor();
  return page;
}

const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules). */
export async function seriousViolations(page: Page): Promise<string[]> {
  // Evaluated through the DevTools protocol: the console's CSP (no inline scripts) stays as it is.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    // Runs in the page: its globals are reached through globalThis (the test's own lib has no DOM types).
    const axe = (globalThis as unknown as { axe: { run(context: unknown, options: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run((globalThis as unknown as { document: unknown }).document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.targets.join(', ')}`);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
