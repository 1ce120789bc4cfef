/**
 * `npm run chaos`: whole cycles on short policies while the worker is killed (SIGKILL) at random
 * moments and the Temporal dev server and PostgreSQL are restarted, then the invariant checker.
 *
 *   npm run chaos -- [--cycles N] [--kills N] [--restart-temporal] [--restart-postgres] [--seed S] [--small] [--keep]
 *
 * No flag: the full setting (5 cycles, 20 kills, one Temporal and one PostgreSQL restart). Naming
 * any of --cycles/--kills/--restart-* sets exactly what is named (restarts off unless given).
 * Exit code 0: every invariant holds; 1: invariants violated (listed); 2: the harness itself failed.
 */
import { writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { FULL_SETTINGS, runChaos, type ChaosSettings } from './run';
import { randomSeed } from './rng';
import { Stopper } from './wait';

async function main(): Promise<void> {
  const program = new Command('chaos')
    .option('--cycles <n>', 'whole cycles, run concurrently', (v) => positiveInt(v, '--cycles'))
    .option('--kills <n>', 'worker SIGKILLs at random moments', (v) => positiveInt(v, '--kills', 0))
    .option('--restart-temporal', 'restart the Temporal dev server once')
    .option('--restart-postgres', 'restart PostgreSQL once')
    .option('--seed <s>', 'seed of every random choice (printed, to repeat a run)', (v) => positiveInt(v, '--seed', 0))
    .option('--cycle-timeout <seconds>', 'how long a cycle may take before the harness gives up on it', (v) => positiveInt(v, '--cycle-timeout'))
    .option('--stagger <seconds>', 'seconds between the starts of two cycles', (v) => positiveInt(v, '--stagger', 0))
    .option('--report-json <file>', 'also write the report as JSON (the integration test reads it)')
    .option('--keep', 'keep the run directory (data and logs) even when everything passed')
    .parse(process.argv);
  const o = program.opts<{ cycles?: number; kills?: number; restartTemporal?: boolean; restartPostgres?: boolean; seed?: number; cycleTimeout?: number; stagger?: number; reportJson?: string; keep?: boolean }>();
  const custom = o.cycles !== undefined || o.kills !== undefined || o.restartTemporal || o.restartPostgres;
  const settings: ChaosSettings = {
    ...FULL_SETTINGS,
    ...(custom
      ? { cycles: o.cycles ?? FULL_SETTINGS.cycles, kills: o.kills ?? FULL_SETTINGS.kills, restartTemporal: !!o.restartTemporal, restartPostgres: !!o.restartPostgres }
      : {}),
    ...(o.cycleTimeout ? { cycleTimeoutMs: o.cycleTimeout * 1000 } : {}),
    ...(o.stagger !== undefined ? { staggerMs: o.stagger * 1000 } : {}),
    keepData: !!o.keep,
    seed: o.seed ?? randomSeed(),
  };

  const stopper = new Stopper();
  let interrupted = false;
  const interrupt = (signal: string) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`[chaos] ${signal}: stopping every process this run started ...`);
    stopper.stop();
  };
  process.on('SIGINT', () => interrupt('SIGINT'));
  process.on('SIGTERM', () => interrupt('SIGTERM'));

  const report = await runChaos(settings, (line) => console.log(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`), stopper);
  console.log(`\n${report.text}`);
  if (o.reportJson) writeFileSync(o.reportJson, JSON.stringify(report, null, 2));
  if (interrupted) console.log('[chaos] interrupted: the report above is incomplete.');
  process.exit(interrupted ? 130 : report.exitCode);
}

function positiveInt(value: string, flag: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be a whole number of at least ${min}`);
  return n;
}

main().catch((error: Error) => {
  console.error(`[chaos] harness failure: ${error.stack ?? error.message}`);
  process.exit(2);
});
