/**
 * Real Temporal worker processes that fault tests kill (SIGKILL) and start again: the parent's
 * side (spawn one, wait until it polls) and the child's (serve until told to stop). A process of
 * its own, so a kill is a kill: nothing of the test's own process survives it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import 'reflect-metadata';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createDataSource } from '@concentra/persistence';
import type { DataSource } from 'typeorm';

/** Polls `check` every 50 ms until it gives a value, at most `boundMs`. */
export async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, boundMs: number): Promise<T> {
  const end = Date.now() + boundMs;
  while (Date.now() < end) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what}: not within ${boundMs} ms`);
}

export interface WorkerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

/** Starts `script` (TypeScript, run through the tests' register hook) and waits until it prints "polling". */
export async function spawnWorkerProcess(script: string, env: Record<string, string | undefined>, boundMs: number): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['-r', join(__dirname, '..', '..', 'libs', 'gpu', 'test', 'support', 'register-ts.js'), script], {
    env: { ...process.env, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await until('the worker process polls', () => {
    if (child.exitCode !== null) throw new Error(`the worker process exited: ${stderr}`);
    return stdout.includes('polling') ? true : undefined;
  }, boundMs);
  return { child, stdout: () => stdout, stderr: () => stderr };
}

/**
 * The child's side: a worker on DATABASE_URL and TEMPORAL_ADDRESS with the options `build` gives,
 * "polling" printed once it runs, drained on SIGTERM. Temporal's own log shows errors only.
 */
export function serveWorker(name: string, build: (db: DataSource) => Omit<WorkerOptions, 'connection'>): void {
  const main = async () => {
    Runtime.install({ logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => process.stderr.write(`${m}\n`) } });
    const db = await createDataSource(process.env.DATABASE_URL as string, { applicationName: name }).initialize();
    const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS as string });
    const worker = await Worker.create({ connection, ...build(db) });
    const running = worker.run();
    process.stdout.write('polling\n');
    process.once('SIGTERM', () => worker.shutdown());
    await running;
    await connection.close();
    await db.destroy();
  };
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
