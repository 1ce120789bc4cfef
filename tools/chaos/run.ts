/**
 * One chaos run: its own PostgreSQL, Temporal dev server and worker; whole cycles driven
 * concurrently on short policies while the worker is SIGKILLed at random (seeded) moments and
 * Temporal and PostgreSQL are restarted; then the invariant checker. Every process it starts is
 * stopped at the end, also when something fails or the run is interrupted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows } from '@concentra/temporal';
import type { DataSource } from 'typeorm';
import { GpuLedger, GpuProviders, LedgerProvider } from '@concentra/gpu';
import { EventStore, PROJECTIONS, createDataSource } from '@concentra/persistence';
import { CycleDriver, type DriveResult } from './driver';
import { checkInvariants, formatInvariantReport, type InvariantReport } from './invariants';
import { OwnPostgres, OwnTemporal, WorkerSupervisor } from './processes';
import { Rng } from './rng';
import { HarnessError, Stopper } from './wait';

export interface ChaosSettings {
  cycles: number;
  kills: number;
  restartTemporal: boolean;
  restartPostgres: boolean;
  seed: number;
  /** How long a cycle's driver waits for it to close before giving up on it. */
  cycleTimeoutMs: number;
  /** Cycles start this far apart, so the faults fall on every stage of some cycle. */
  staggerMs: number;
  /** The worker runs this long (uniform, ms) between being ready and the next kill. */
  uptimeMs: [number, number];
  /** How long the worker stays dead after a kill (uniform, ms): 2-6 s. */
  downtimeMs: [number, number];
  /** How often grants meter usage: a Temporal duration string ('3 seconds'), not ISO-8601. */
  meteringInterval: string;
  /** Keep the run's directory (data and logs) afterwards; it is always kept when something failed. */
  keepData: boolean;
}

export const FULL_SETTINGS: Omit<ChaosSettings, 'seed'> = {
  cycles: 5,
  kills: 20,
  restartTemporal: true,
  restartPostgres: true,
  cycleTimeoutMs: 20 * 60_000,
  staggerMs: 15_000,
  uptimeMs: [1_500, 6_000],
  downtimeMs: [2_000, 6_000],
  meteringInterval: '3 seconds',
  keepData: false,
};

export interface FaultRecord {
  at: string;
  kind: 'worker_kill' | 'worker_restart' | 'temporal_restart' | 'postgres_restart';
  detail: string;
}

export interface ChaosRunReport {
  settings: ChaosSettings;
  workDir: string;
  startedAt: string;
  durationMs: number;
  faults: FaultRecord[];
  kills: number;
  temporalRestarts: number;
  postgresRestarts: number;
  workerExitsOnItsOwn: { at: string; code: number | null; signal: string | null; lastLines: string[] }[];
  drives: DriveResult[];
  invariants: InvariantReport | null;
  /** The harness itself failed (a process would not start, its own bound ran out, a bug): not findings. */
  harnessErrors: string[];
  /** 0: every invariant holds; 1: invariants violated; 2: the harness failed (findings may be incomplete). */
  exitCode: 0 | 1 | 2;
  text: string;
}

export async function runChaos(settings: ChaosSettings, log: (line: string) => void = (l) => console.log(`[chaos] ${l}`), stopper = new Stopper()): Promise<ChaosRunReport> {
  const began = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'cc-fault-suite-'));
  const rng = new Rng(settings.seed);
  const faults: FaultRecord[] = [];
  const harnessErrors: string[] = [];
  const drives: DriveResult[] = [];
  let invariants: InvariantReport | null = null;
  const fault = (kind: FaultRecord['kind'], detail: string) => {
    faults.push({ at: new Date().toISOString(), kind, detail });
    log(`${kind.replace('_', ' ')}: ${detail}`);
  };
  log(`seed ${settings.seed}; ${settings.cycles} cycles, ${settings.kills} worker kills, Temporal restart: ${settings.restartTemporal}, PostgreSQL restart: ${settings.restartPostgres}; run directory ${workDir}`);

  const postgres = new OwnPostgres(workDir, log);
  const temporal = new OwnTemporal(workDir, log);
  let worker: WorkerSupervisor | undefined;
  let connection: Connection | undefined;
  let db: DataSource | undefined;
  const taskQueue = `chaos-${settings.seed}`;
  let workflowBundle: WorkflowBundleWithSourceMap | undefined;

  try {
    await postgres.start();
    db = await createDataSource(postgres.url, { applicationName: 'concentra-chaos-harness' }).initialize();
    const ledger = new GpuLedger(db, new EventStore(db, PROJECTIONS), new GpuProviders([new LedgerProvider(db)]));
    await ledger.registerCapacity(
      { id: 'chaos-h100', site: 'chaos-site', cluster: 'chaos-cluster', provider: 'ledger', gpuType: 'H100', count: 10_000, ownership: 'owned', availableFrom: '2000-01-01T00:00:00.000Z', availableUntil: null },
      { role: 'system', subject: 'chaos-setup' },
    );
    await temporal.start();
    connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    // One bundle for the whole run: every restarted worker runs exactly this code (and starts
    // without webpack), and the checker replays the histories against it.
    workflowBundle = await bundleWorkflows();
    const bundlePath = join(workDir, 'workflow-bundle.js');
    writeFileSync(bundlePath, workflowBundle.code);
    worker = new WorkerSupervisor(
      { ...process.env, NODE_ENV: 'development', DATABASE_URL: postgres.url, TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', TEMPORAL_TASK_QUEUE: taskQueue, MIGRATIONS_RUN: 'false', LOG_LEVEL: 'info', WORKFLOW_BUNDLE_PATH: bundlePath },
      workDir,
      log,
      stopper,
    );
    const startedWorker = Date.now();
    await worker.start();
    log(`worker ready in ${((Date.now() - startedWorker) / 1000).toFixed(1)} s (pid ${worker.pid}), task queue ${taskQueue}`);

    // The cycles, started `staggerMs` apart, each driven to its end.
    let finished = 0;
    const driving = Array.from({ length: settings.cycles }, async (_, i) => {
      await stopper.pause(i * settings.staggerMs);
      const driver = new CycleDriver({ client, db: db!, taskQueue, programSlug: `chaos-${i + 1}`, year: 2027, rng: rng.fork(`cycle-${i + 1}`), stopper, timeoutMs: settings.cycleTimeoutMs, meteringInterval: settings.meteringInterval, log });
      try {
        const result = await driver.drive();
        drives[i] = result;
        // A timeout on a cycle whose workflow task keeps failing is the wedge (a finding, under cycle_closed), not the harness.
        if (result.stoppedBecause === 'timeout' && !result.wedgedBy) harnessErrors.push(`${driver.cycleId}: the driver gave up after ${Math.round(settings.cycleTimeoutMs / 1000)} s (stage ${result.lastStatus?.stage ?? '?'}); see cycle_closed for what the workflow says`);
      } catch (error) {
        harnessErrors.push(`${driver.cycleId}: the driver failed: ${(error as Error).stack ?? String(error)}`);
      } finally {
        finished += 1;
      }
    });
    const allDone = () => finished === settings.cycles || stopper.stopped;

    // The faults, from the seeded RNG, while cycles run.
    const faultRng = rng.fork('faults');
    const temporalAfter = settings.restartTemporal ? Math.max(1, Math.ceil(faultRng.between(0.2, 0.5) * settings.kills)) : -1;
    const postgresAfter = settings.restartPostgres ? Math.max(1, Math.ceil(faultRng.between(0.55, 0.85) * settings.kills)) : -1;
    let kills = 0;
    let temporalRestarts = 0;
    let postgresRestarts = 0;
    const restartTemporal = async () => {
      await stopper.pause(faultRng.between(1_000, 4_000));
      const down = faultRng.between(3_000, 8_000);
      fault('temporal_restart', `stopping the dev server for ${(down / 1000).toFixed(1)} s (same SQLite file)`);
      await temporal.restart(down, stopper);
      temporalRestarts += 1;
    };
    const restartPostgres = async () => {
      await stopper.pause(faultRng.between(1_000, 4_000));
      const down = faultRng.between(3_000, 8_000);
      fault('postgres_restart', `stopping PostgreSQL for ${(down / 1000).toFixed(1)} s (same data)`);
      await postgres.restart(down, stopper);
      postgresRestarts += 1;
    };
    const injecting = (async () => {
      for (let k = 1; k <= settings.kills && !allDone(); k++) {
        await stopper.pause(faultRng.between(...settings.uptimeMs));
        if (allDone()) break;
        const down = faultRng.between(...settings.downtimeMs);
        const pid = worker!.pid;
        await worker!.kill();
        kills += 1;
        fault('worker_kill', `#${k} SIGKILL pid ${pid}; restarting in ${(down / 1000).toFixed(1)} s`);
        await stopper.pause(down);
        const restarting = Date.now();
        await worker!.restart();
        fault('worker_restart', `pid ${worker!.pid} polling after ${((Date.now() - restarting) / 1000).toFixed(1)} s`);
        if (k === temporalAfter && !allDone()) await restartTemporal();
        if (k === postgresAfter && !allDone()) await restartPostgres();
      }
      // With no kills planned (or too few), the restarts still happen while cycles run.
      if (settings.restartTemporal && temporalRestarts === 0 && !allDone()) await restartTemporal();
      if (settings.restartPostgres && postgresRestarts === 0 && !allDone()) await restartPostgres();
    })();

    await Promise.all(driving);
    await injecting;
    if (kills < settings.kills) harnessErrors.push(`the cycles ended before every planned fault was injected: ${kills} of ${settings.kills} worker kills`);
    if (settings.restartTemporal && temporalRestarts === 0) harnessErrors.push('the cycles ended before the Temporal dev server was restarted');
    if (settings.restartPostgres && postgresRestarts === 0) harnessErrors.push('the cycles ended before PostgreSQL was restarted');

    // Nothing moves while the checker reads: the worker stops first.
    await worker.stop();
    log('checking the invariants ...');
    if (!postgres.running) throw new HarnessError('PostgreSQL is not running for the checker');
    invariants = await checkInvariants({ db, client, cycleIds: drives.filter(Boolean).map((d) => d.cycleId), log, workflowBundle });
    const report = finish();
    return report;

    function finish(): ChaosRunReport {
      return assemble({ kills, temporalRestarts, postgresRestarts });
    }
  } catch (error) {
    harnessErrors.push(error instanceof HarnessError ? error.message : `harness failure: ${(error as Error).stack ?? String(error)}`);
    return assemble({ kills: faults.filter((f) => f.kind === 'worker_kill').length, temporalRestarts: faults.filter((f) => f.kind === 'temporal_restart').length, postgresRestarts: faults.filter((f) => f.kind === 'postgres_restart').length });
  } finally {
    stopper.stop();
    await worker?.stop().catch(() => undefined);
    await connection?.close().catch(() => undefined);
    if (db?.isInitialized) await db.destroy().catch(() => undefined);
    await temporal.stop().catch(() => undefined);
    await postgres.stop().catch(() => undefined);
    const failed = harnessErrors.length > 0 || !invariants?.ok;
    if (!settings.keepData && !failed) rmSync(workDir, { recursive: true, force: true });
    else log(`run directory kept: ${workDir} (worker log: ${join(workDir, 'logs', 'worker.log')})`);
  }

  function assemble(f: { kills: number; temporalRestarts: number; postgresRestarts: number }): ChaosRunReport {
    const exitCode: 0 | 1 | 2 = harnessErrors.length > 0 || (invariants?.checkerErrors.length ?? 0) > 0 || !invariants ? 2 : invariants.ok ? 0 : 1;
    const report: ChaosRunReport = {
      settings,
      workDir,
      startedAt: new Date(began).toISOString(),
      durationMs: Date.now() - began,
      faults,
      ...f,
      workerExitsOnItsOwn: (worker?.exits ?? []).filter((e) => !e.byHarness).map(({ at, code, signal, lastLines }) => ({ at, code, signal, lastLines })),
      drives: drives.filter(Boolean),
      invariants,
      harnessErrors,
      exitCode,
      text: '',
    };
    report.text = formatRunReport(report);
    return report;
  }
}

export function formatRunReport(r: ChaosRunReport): string {
  const s = r.settings;
  const lines = [
    '======================== Concentra chaos report ========================',
    `seed ${s.seed}   cycles ${s.cycles}   worker kills planned ${s.kills}   Temporal restart ${s.restartTemporal ? 'yes' : 'no'}   PostgreSQL restart ${s.restartPostgres ? 'yes' : 'no'}`,
    `started ${r.startedAt}, took ${(r.durationMs / 1000).toFixed(0)} s; run directory ${r.workDir}`,
    '',
    `Faults injected: ${r.kills} worker kills (SIGKILL), ${r.temporalRestarts} Temporal dev server restarts, ${r.postgresRestarts} PostgreSQL restarts`,
    ...r.faults.filter((f) => f.kind !== 'worker_restart').map((f) => `  ${f.at}  ${f.kind.padEnd(16)} ${f.detail}`),
  ];
  if (r.workerExitsOnItsOwn.length > 0) {
    lines.push(`The worker exited on its own ${r.workerExitsOnItsOwn.length} time(s) (restarted by the harness):`);
    for (const e of r.workerExitsOnItsOwn) lines.push(`  ${e.at}  code ${e.code} signal ${e.signal}: ${e.lastLines.slice(-3).join(' | ').slice(0, 300)}`);
  }
  lines.push('', 'Cycles (as the drivers saw them):');
  for (const d of r.drives) {
    const tally = (o: string) => d.commands.filter((c) => c.outcome === o).length;
    const refused = d.commands.filter((c) => c.outcome === 'refused').map((c) => `${c.type}: ${(c.detail ?? '').slice(0, 120)}`);
    lines.push(
      `  ${d.cycleId}: ${d.workflowStatus ?? 'unknown'} (${d.stoppedBecause}), result ${JSON.stringify(d.result)}, ${(d.durationMs / 1000).toFixed(0)} s; commands ${tally('accepted')} accepted, ${tally('refused')} refused, ${tally('abandoned')} abandoned, ${tally('gone')} to a closed cycle`,
    );
    for (const x of refused.slice(0, 5)) lines.push(`      refused ${x}`);
    if (d.wedgedBy) lines.push(`      wedged: its workflow task keeps failing: ${d.wedgedBy.split('\n')[0].slice(0, 300)}`);
    else if (d.stoppedBecause !== 'completed' && d.lastQueryError) lines.push(`      last status query error: ${d.lastQueryError.split('\n')[0].slice(0, 300)}`);
  }
  lines.push('', 'Invariants:');
  lines.push(r.invariants ? formatInvariantReport(r.invariants) : '  (not checked: the harness failed before the checker ran)');
  if (r.harnessErrors.length > 0) {
    lines.push('', `HARNESS ERRORS (${r.harnessErrors.length}) — the harness itself failed; these are not invariant violations:`);
    for (const e of r.harnessErrors) lines.push(`  - ${e}`);
  }
  const verdict =
    r.exitCode === 0 ? 'PASS: every invariant holds' :
    r.exitCode === 1 ? `FAIL: ${r.invariants?.problems.length ?? 0} invariant violation(s)` :
    `HARNESS FAILURE${r.invariants && r.invariants.problems.length > 0 ? ` (and ${r.invariants.problems.length} invariant violation(s) found)` : ''}`;
  lines.push('', `Verdict: ${verdict} (exit code ${r.exitCode})`, '========================================================================');
  return lines.join('\n');
}
