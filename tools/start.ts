/**
 * `npm start`: the whole system on embedded defaults — Temporal dev server (SQLite under .data/,
 * with its Web UI), PostgreSQL (DATABASE_URL, else the local server, else an embedded one),
 * migrations, the worker and the admin API (which serves the web console) — then prints where to look. Ctrl-C stops all of it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { prettyFactory } from 'pino-pretty';
import { DEVELOPMENT_JWT_SECRET, loadEnvironment } from '@concentra/config';
import { createDataSource, migrate } from '@concentra/persistence';
import { issueToken } from '@concentra/auth';
import { ensurePostgres, type PostgresHandle } from './postgres';
import { startLocalMail } from './smtp-sink';
import { PROJECT_ROOT } from './temporal-binaries';
import { portOpen, startDevServer, waitForPort, type DevServer } from './temporal-dev-server';

const DATA = join(PROJECT_ROOT, '.data');
const say = (line: string) => console.log(`[concentra] ${line}`);

async function main(): Promise<void> {
  const env = loadEnvironment();
  const stops: (() => Promise<void>)[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping ...');
    for (const stop of stops.reverse()) await stop().catch((e: Error) => say(`while stopping: ${e.message}`));
    say('stopped.');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const [host, port] = env.TEMPORAL_ADDRESS.split(':');
    let temporal: DevServer | undefined;
    // An address from the environment or a Temporal profile names the operator's server: never start our own.
    if (env.temporal.address !== undefined || (await portOpen(Number(port), host))) {
      say(`using the Temporal server at ${env.TEMPORAL_ADDRESS}`);
    } else {
      say('starting the Temporal dev server ...');
      temporal = await startDevServer({
        dbFile: join(DATA, 'temporal', 'temporal.sqlite'),
        port: Number(port),
        uiPort: Number(process.env.TEMPORAL_UI_PORT ?? 8233),
        logFile: join(DATA, 'logs', 'temporal.log'),
        log: say,
      });
      stops.push(() => temporal!.stop());
    }

    const postgres: PostgresHandle = await ensurePostgres('concentra', say);
    stops.push(() => postgres.stop());
    say(`PostgreSQL: ${postgres.source} (${redact(postgres.url)})`);

    const db = await createDataSource(postgres.url).initialize();
    const ran = await migrate(db);
    await db.destroy();
    say(ran.length ? `migrations applied: ${ran.join(', ')}` : 'database schema is up to date');

    // Notification email: the relay named by SMTP_URL, else a sink on loopback whose mail lands in .data/mail.
    const mail = env.SMTP_URL ? { smtpUrl: env.SMTP_URL, where: `${redact(env.SMTP_URL)} (SMTP_URL)` } : await startLocalMail(join(DATA, 'mail'));
    if ('stop' in mail) stops.push(mail.stop);
    // `npm run build` (prestart) wrote the workflow bundle: the worker starts on it without webpack.
    const bundle = join(PROJECT_ROOT, 'dist', 'workflow-bundle.js');
    const childEnv = {
      ...process.env,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS,
      MIGRATIONS_RUN: 'false',
      SMTP_URL: mail.smtpUrl,
      // Worker Deployment Versioning as in production: the worker polls as a version named by its
      // bundle's hash and makes itself current (cycles already running move to it on their next task).
      WORKER_VERSIONING: process.env.WORKER_VERSIONING ?? 'auto-upgrade',
      ...(!process.env.WORKFLOW_BUNDLE_PATH && existsSync(bundle) ? { WORKFLOW_BUNDLE_PATH: bundle } : {}),
    };
    let workerReady: () => void = () => undefined;
    const workerPolling = new Promise<void>((resolve) => (workerReady = resolve));
    const worker = run('worker', join(PROJECT_ROOT, 'dist/apps/worker/src/main.js'), childEnv, stopAll, (line) => {
      // Versioned, tasks reach the worker once its version is current; otherwise once it polls.
      if (line.includes(childEnv.WORKER_VERSIONING === 'off' ? 'polling task queue' : 'is the current version') || line.includes('stays behind')) workerReady();
    });
    stops.push(() => terminate(worker));
    const api = run('admin-api', join(PROJECT_ROOT, 'dist/apps/admin-api/src/main.js'), childEnv, stopAll);
    stops.push(() => terminate(api));
    if (!(await waitForPort(env.API_PORT, 60_000))) throw new Error(`the admin API did not open port ${env.API_PORT}`);
    say('waiting for the worker to bundle the workflows and poll ...');
    const polling = await Promise.race([workerPolling.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 180_000).unref())]);
    if (!polling) throw new Error('the worker did not start polling within 3 minutes; see its output above');

    const base = `http://${env.API_HOST}:${env.API_PORT}`;
    const token = issueToken({ sub: 'local-pm', role: 'program_manager' }, env.AUTH_JWT_SECRET ?? DEVELOPMENT_JWT_SECRET, env.AUTH_JWT_ISSUER);
    console.log(`
  Concentra is running.

    Console            ${base}/console/   (local sign-in: pick a role; ${env.NODE_ENV === 'production' ? 'production: bearer tokens only' : 'development only'})
    Admin API          ${base}/v1
    OpenAPI docs       ${base}/docs   (JSON: ${base}/docs/json)
    Health             ${base}/health/ready   (liveness: ${base}/health/live)
    Metrics            ${base}/metrics   (worker: http://${env.WORKER_HTTP_HOST}:${env.WORKER_HTTP_PORT}/metrics, /health/ready)
    Temporal Web UI    ${temporal?.uiUrl ?? '(your Temporal server\'s UI)'}
    Temporal server    ${env.TEMPORAL_ADDRESS}, namespace '${env.TEMPORAL_NAMESPACE}', task queue '${env.TEMPORAL_TASK_QUEUE}'
    PostgreSQL         ${postgres.source}
    Notification mail  ${mail.where}
    Logs and data      ${DATA}

  A program manager token for local use (12 h):
    export TOKEN=${token}
  Others: npm run cli -- token --role <admin|program_manager|reviewer|evaluator|applicant|auditor> [--org <organisation>]

  Try:
    curl -s -X POST ${base}/v1/programs -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\
      -d '{"slug":"national-ai","name":"National AI models"}'
    curl -s -X POST ${base}/v1/programs/national-ai/cycles -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"year":2027}'
    curl -s ${base}/v1/cycles/cycle:national-ai:2027 -H "Authorization: Bearer $TOKEN"

  Ctrl-C stops everything started here.
`);
  } catch (error) {
    say(`could not start: ${(error as Error).message}`);
    await stopAll(1);
  }
}

function run(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  onExit: (code: number) => Promise<void>,
  onLine: (line: string) => void = () => undefined,
): ChildProcess {
  const child = spawn(process.execPath, ['--enable-source-maps', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  // The apps write JSON lines (what a log collector wants); here they are made readable.
  const pretty = prettyFactory({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
  const readable = (line: string) => {
    if (!line.startsWith('{')) return `${line}\n`;
    try {
      return pretty(JSON.parse(line) as object);
    } catch {
      return `${line}\n`;
    }
  };
  const lines = (write: (text: string) => void, each: (line: string) => void = () => undefined) => {
    let partial = '';
    return (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts.filter(Boolean)) {
        each(line);
        write(`[${name}] ${readable(line)}`);
      }
    };
  };
  child.stdout?.on('data', lines((text) => process.stdout.write(text), onLine));
  child.stderr?.on('data', lines((text) => process.stderr.write(text)));
  child.once('exit', (code, signal) => {
    if (signal === null) {
      say(`${name} exited with code ${code}`);
      void onExit(code ?? 1);
    }
  });
  return child;
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
  await exited;
  clearTimeout(timer);
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

void main();
