/**
 * The chaos suite's small setting inside `npm test`: two whole cycles on short policies while the
 * real worker is SIGKILLed five times. The suite runs exactly as `npm run chaos` does, as its own
 * process tree (built with `npm run build`, swc, a few seconds) with its own PostgreSQL, Temporal
 * dev server and worker: the dev server the global setup started is never touched. The test reads
 * the report it writes and asserts that the harness ran as planned and the checker found nothing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChaosRunReport } from './run';

const ROOT = join(__dirname, '..', '..');
const BOUND_MS = 14 * 60_000;

describe('chaos (small setting): worker kills during whole cycles', () => {
  let report: ChaosRunReport;
  let exitCode: number | null;

  beforeAll(async () => {
    const build = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}\n${build.stderr}`);
    const dir = mkdtempSync(join(tmpdir(), 'cc-fault-suite-test-'));
    const file = join(dir, 'report.json');
    const args = ['--enable-source-maps', join(ROOT, 'dist', 'tools', 'chaos', 'main.js'), '--cycles', '2', '--kills', '5', '--stagger', '10', '--cycle-timeout', '480', '--report-json', file];
    if (process.env.CHAOS_SEED) args.push('--seed', process.env.CHAOS_SEED);
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    // A bound on the whole run: past it the suite is stopped (SIGINT: it stops what it started).
    const bound = setTimeout(() => child.kill('SIGINT'), BOUND_MS);
    exitCode = await new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    clearTimeout(bound);
    if (!existsSync(file)) throw new Error(`the chaos run wrote no report (exit code ${exitCode}); its output is above`);
    report = JSON.parse(readFileSync(file, 'utf8')) as ChaosRunReport;
    rmSync(dir, { recursive: true, force: true });
  }, BOUND_MS + 60_000);

  it('ran as planned: at least 5 worker kills across 2 cycles, no harness error', () => {
    expect(report.harnessErrors).toEqual([]);
    expect(report.invariants?.checkerErrors).toEqual([]);
    expect(report.drives).toHaveLength(2);
    expect(report.kills).toBeGreaterThanOrEqual(5);
  });

  it('finds every invariant holding: cycles closed, events = histories, no leaked GPUs, reminders once, chains hold, histories replay', () => {
    expect(report.invariants?.problems.map((p) => `[${p.invariant}] ${p.subject}: ${p.detail}`)).toEqual([]);
    expect(exitCode).toBe(0);
  });
});
