/**
 * The whole system for the scale benchmark, as `npm start` runs it but on its own ports and data:
 * a Temporal dev server (in memory, headless), a fresh PostgreSQL database (dropped at the end) on
 * the server `npm start` would use, migrations, then the built worker and admin API
 * (dist/apps/...) as child processes. Their output goes to log files; the last lines are kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { createDataSource, migrate } from '@concentra/persistence';
import { createDatabaseIfMissing, dropDatabase, ensurePostgres, withDatabase, type PostgresHandle } from '../tools/postgres';
import { PROJECT_ROOT } from '../tools/temporal-binaries';
import { freePort, startDevServer, type DevServer } from '../tools/temporal-dev-server';

type Log = (line: string) => void;

/** Children still alive are killed if this process exits for any reason. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export class AppProcess {
  readonly child: ChildProcess;
  readonly tail: string[] = [];
  /** Payloads the SDK refused to upload (TMPRL1103): they never reach a history, so they are read from the log. */
  readonly refusedPayloads: Array<{ bytes: number; limit: number; path: string | null }> = [];
  private readonly out: WriteStream;
  private readonly watchers: Array<{ match: (line: string) => boolean; resolve: () => void }> = [];

  constructor(
    readonly name: string,
    script: string,
    env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {
    this.out = createWriteStream(logFile, { flags: 'a' });
    this.child = spawn(process.execPath, ['--enable-source-maps', join(PROJECT_ROOT, script)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    alive.add(this.child);
    this.child.once('exit', () => alive.delete(this.child));
    const onData = (chunk: Buffer) => {
      this.out.write(chunk);
      for (const raw of chunk.toString().split('\n')) {
        const line = raw.replace(/\x1b\[[0-9;]*m/g, ''); // eslint-disable-line no-control-regex
        if (!line.trim()) continue;
        const refused = /TMPRL1103\].*?size=(\d+).*?limit=(\d+)/.exec(line);
        if (refused) this.refusedPayloads.push({ bytes: Number(refused[1]), limit: Number(refused[2]), path: null });
        const path = /PayloadLimitViolation \{ path: "([^"]+)"/.exec(line);
        const last = this.refusedPayloads[this.refusedPayloads.length - 1];
        if (path && last && last.path === null) last.path = path[1];
        this.tail.push(line);
        if (this.tail.length > 200) this.tail.shift();
        for (const w of [...this.watchers]) if (w.match(line)) w.resolve();
      }
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Resolves true once a line matches, false when the process exits or the bound runs out. */
  waitForLine(match: (line: string) => boolean, timeoutMs: number): Promise<boolean> {
    if (this.tail.some(match)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const onExit = () => done(false);
      const watcher = { match, resolve: () => done(true) };
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        const i = this.watchers.indexOf(watcher);
        if (i >= 0) this.watchers.splice(i, 1);
        resolve(ok);
      };
      this.watchers.push(watcher);
      this.child.once('exit', onExit);
    });
  }

  /** Lines that look like errors (Temporal's TMPRL codes, Nest errors), distinct, most recent last. */
  errorLines(limit = 5): string[] {
    const distinct = new Map<string, string>();
    for (const line of this.tail) {
      if (!/TMPRL\d+|ERROR|Error:|error:/.test(line)) continue;
      distinct.set(line.replace(/\d+/g, '#').slice(0, 160), line.length > 400 ? `${line.slice(0, 400)} ...` : line);
    }
    return [...distinct.values()].slice(-limit);
  }

  async stop(): Promise<void> {
    if (this.exited) return this.closeLog();
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 35_000);
    await exited;
    clearTimeout(timer);
    await this.closeLog();
  }

  private closeLog(): Promise<void> {
    return new Promise((resolve) => this.out.end(resolve));
  }
}

export interface ScaleStack {
  apiUrl: string;
  temporalAddress: string;
  client: Client;
  worker: AppProcess;
  api: AppProcess;
  logDir: string;
  postgresSource: string;
  stop(): Promise<void>;
}

export async function startScaleStack(log: Log): Promise<ScaleStack> {
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((error: Error) => log(`while stopping: ${error.message}`));
  };
  try {
    const logDir = join(tmpdir(), `concentra-scale-${randomBytes(4).toString('hex')}`);
    mkdirSync(logDir, { recursive: true });
    const temporalPort = await freePort();
    const server: DevServer = await startDevServer({ port: temporalPort, logFile: join(logDir, 'temporal.log'), log });
    stops.push(() => server.stop());

    const pg: PostgresHandle = await ensurePostgres('postgres', log);
    stops.push(() => pg.stop());
    const database = `concentra_scale_${randomBytes(4).toString('hex')}`;
    await createDatabaseIfMissing(pg.url, database);
    stops.push(() => dropDatabase(pg.url, database));
    const url = withDatabase(pg.url, database);
    const db = await createDataSource(url).initialize();
    try {
      await migrate(db);
    } finally {
      await db.destroy();
    }

    const apiPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'development',
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: server.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'program-cycles',
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      MIGRATIONS_RUN: 'false',
      LOG_LEVEL: 'warn',
      // The bench measures what the engine carries; the per-client rate limits would cap the load.
      RATE_LIMIT_PER_PRINCIPAL: '100000000',
      RATE_LIMIT_PER_ADDRESS: '100000000',
    };
    const worker = new AppProcess('worker', 'dist/apps/worker/src/main.js', env, join(logDir, 'worker.log'));
    stops.push(() => worker.stop());
    const api = new AppProcess('admin-api', 'dist/apps/admin-api/src/main.js', env, join(logDir, 'admin-api.log'));
    stops.push(() => api.stop());

    const apiUrl = `http://127.0.0.1:${apiPort}`;
    const healthy = await until(90_000, async () => (await fetch(`${apiUrl}/health`).catch(() => null))?.status === 200, () => api.exited);
    if (!healthy) throw new Error(`the admin API did not answer /health within 90 s; see ${api.logFile}:\n${api.tail.slice(-10).join('\n')}`);
    // A run's history may pass the client's default 4 MB message limit: measure it all the same.
    const connection = await Connection.connect({ address: server.address, channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 } });
    stops.push(() => connection.close());
    // Ready when the server sees the worker polling (at LOG_LEVEL warn it prints no line saying so).
    const polling = await until(
      240_000,
      async () => {
        const queue = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: 'program-cycles' }, taskQueueType: 1 });
        return (queue.pollers?.length ?? 0) > 0;
      },
      () => worker.exited,
    );
    if (!polling) throw new Error(`the worker did not poll its task queue within 4 minutes; see ${worker.logFile}:\n${worker.tail.slice(-10).join('\n')}`);
    const client = new Client({ connection, namespace: 'default' });
    return { apiUrl, temporalAddress: server.address, client, worker, api, logDir, postgresSource: pg.source, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Polls `probe` every 250 ms until true, `gaveUp()` is true, or the bound runs out. */
async function until(timeoutMs: number, probe: () => Promise<boolean>, gaveUp: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !gaveUp()) {
    if (await probe()) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}
