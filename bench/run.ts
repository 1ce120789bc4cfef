/**
 * `npm run bench`: Concentra against baselines measured in the same run, on this machine.
 *   1. event store append (hash chain + inline projections) vs a raw PostgreSQL INSERT
 *   2. admin API read (auth + projection query) vs a bare NestJS route
 *   3. cycle start until CallOpened is recorded vs a bare Temporal workflow running one activity
 *   4. scale (bench/scale-call.ts): a full-size call through the HTTP API, every history of the
 *      cycle measured against the payload and history budgets (BENCH_SCALE=0 skips it)
 * BENCH_ONLY=append,http,cycle,scale runs the named sections only (the machine is shared: measure
 * what you changed). Each line reports the ratio (ours / baseline) and the absolute figures. Nothing here asserts:
 * the numbers are for reading, and are not committed as truth.
 */
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Client as PgClient } from 'pg';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { defaultPolicy, policyHash } from '@concentra/domain';
import { EventActivities, EventStore, PROJECTIONS, createDataSource, migrate } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { activitiesOf, bundleWorkflows, workflowSinks } from '@concentra/temporal';
import { cycleStatusQuery } from '@concentra/workflows/contracts';
import { issueToken } from '@concentra/auth';
import { createAdminApi } from '../apps/admin-api/src/bootstrap';
import { ensurePostgres, createDatabaseIfMissing, dropDatabase, withDatabase } from '../tools/postgres';
import { freePort, startDevServer } from '../tools/temporal-dev-server';
import { runScaleSection } from './scale-call';

const N = Number(process.env.BENCH_N ?? 300);

interface Result {
  name: string;
  ours: number[];
  baseline: number[];
  unit: string;
}

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const port = await freePort();
  const server = await startDevServer({ port, logFile: join(tmpdir(), `concentra-bench-${port}.log`) });
  const pg = await ensurePostgres('postgres', console.log);
  const name = `concentra_bench_${randomBytes(4).toString('hex')}`;
  await createDatabaseIfMissing(pg.url, name);
  const url = withDatabase(pg.url, name);
  const db = await createDataSource(url).initialize();
  await migrate(db);
  const results: Result[] = [];
  try {
    if (wanted('append')) results.push(await benchAppend(url, db));
    if (wanted('http')) results.push(await benchHttp(url, server.address));
    if (wanted('cycle')) results.push(await benchCycleStart(db, server.address));
  } finally {
    await server.stop();
    await db.destroy();
    await dropDatabase(pg.url, name);
    await pg.stop();
  }
  console.log(`\nConcentra benchmarks (N=${N}, ${new Date().toISOString()}, node ${process.version})`);
  for (const r of results) {
    const ours = median(r.ours);
    const base = median(r.baseline);
    console.log(
      `  ${r.name.padEnd(48)} ratio ${(ours / base).toFixed(2).padStart(6)}x   ours p50 ${ours.toFixed(2)} ${r.unit} (p95 ${p95(r.ours).toFixed(2)})   baseline p50 ${base.toFixed(2)} ${r.unit} (p95 ${p95(r.baseline).toFixed(2)})`,
    );
  }
  console.log(`  process RSS ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
  if (process.env.BENCH_SCALE !== '0' && wanted('scale')) await runScaleSection();
}

/** BENCH_ONLY=append,http,cycle,scale runs those sections alone (default: every one). */
function wanted(section: 'append' | 'http' | 'cycle' | 'scale'): boolean {
  const only = process.env.BENCH_ONLY;
  return !only || only.split(',').map((s) => s.trim()).includes(section);
}

async function benchAppend(url: string, db: Awaited<ReturnType<typeof createDataSource>>): Promise<Result> {
  const raw = new PgClient({ connectionString: url });
  await raw.connect();
  await raw.query('CREATE TABLE bench_raw (id bigserial PRIMARY KEY, stream text, data jsonb)');
  const store = new EventStore(db, PROJECTIONS);
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < N; i++) {
    const data = { i, note: 'x'.repeat(200) };
    baseline.push(await timed(() => raw.query('INSERT INTO bench_raw (stream, data) VALUES ($1, $2)', ['bench', data])));
    ours.push(
      await timed(() =>
        store.append(`bench:${i % 10}`, [{ eventId: `bench#${i}`, type: 'BenchRecorded', data, metadata: {}, occurredAt: new Date().toISOString() }]),
      ),
    );
  }
  await raw.end();
  return { name: 'event append (1 event) vs raw INSERT', ours, baseline, unit: 'ms' };
}

@Controller()
class BareController {
  @Get('ping')
  ping() {
    return { ok: true };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

async function benchHttp(url: string, temporalAddress: string): Promise<Result> {
  const saved = { DATABASE_URL: process.env.DATABASE_URL, TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS };
  process.env.DATABASE_URL = url;
  process.env.TEMPORAL_ADDRESS = temporalAddress;
  try {
    return await benchHttpOn();
  } finally {
    // The scale section finds its own PostgreSQL from DATABASE_URL: not this run's dropped database.
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

async function benchHttpOn(): Promise<Result> {
  const bare = await NestFactory.create(BareModule, { logger: false });
  await bare.listen(0, '127.0.0.1');
  const api = await createAdminApi(['error']);
  await api.listen(0, '127.0.0.1');
  const token = `Bearer ${issueToken({ sub: 'bench', role: 'program_manager' }, DEVELOPMENT_JWT_SECRET, 'concentra')}`;
  const apiUrl = await api.getUrl();
  await fetch(`${apiUrl}/v1/programs`, {
    method: 'POST',
    headers: { authorization: token, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'bench', name: 'Bench program' }),
  });
  const bareUrl = await bare.getUrl();
  const ours: number[] = [];
  const baseline: number[] = [];
  for (let i = 0; i < N; i++) {
    baseline.push(await timed(() => fetch(`${bareUrl}/ping`).then((r) => r.json())));
    ours.push(await timed(() => fetch(`${apiUrl}/v1/programs/bench`, { headers: { authorization: token } }).then((r) => r.json())));
  }
  await api.close();
  await bare.close();
  return { name: 'GET /v1/programs/:slug vs bare NestJS route', ours, baseline, unit: 'ms' };
}

async function benchCycleStart(db: Awaited<ReturnType<typeof createDataSource>>, address: string): Promise<Result> {
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection });
  const store = new EventStore(db, PROJECTIONS);
  const worker = await Worker.create({
    connection,
    taskQueue: 'bench',
    workflowBundle: await bundleWorkflows(),
    activities: { ...activitiesOf(new EventActivities(store)), ...activitiesOf(new NotificationActivities(db)) },
    sinks: workflowSinks(),
  });
  const bareWorker = await Worker.create({
    connection,
    taskQueue: 'bench-bare',
    workflowsPath: require.resolve('./bare-workflow'),
    activities: { noop: async () => undefined },
  });
  const runs = Promise.all([worker.run(), bareWorker.run()]);
  const ours: number[] = [];
  const baseline: number[] = [];
  const rounds = Math.min(N, 50);
  try {
    for (let i = 0; i < rounds; i++) {
      baseline.push(await timed(() => client.workflow.execute('bareWorkflow', { taskQueue: 'bench-bare', workflowId: `bare-${i}-${randomBytes(3).toString('hex')}` })));
      ours.push(
        await timed(async () => {
          const program = `bench-${i}-${randomBytes(3).toString('hex')}`;
          const policy = { ...defaultPolicy, program };
          const handle = await client.workflow.start('programCycle', {
            taskQueue: 'bench',
            workflowId: `cycle:${program}:2027`,
            args: [{ programSlug: program, year: 2027, policy, policyHash: policyHash(policy), startedBy: { role: 'program_manager', subject: 'bench' } }],
          });
          while ((await handle.query(cycleStatusQuery)).eventsRecorded < 1) await new Promise((r) => setTimeout(r, 2));
          await handle.terminate('benchmark done');
        }),
      );
    }
  } finally {
    worker.shutdown();
    bareWorker.shutdown();
    await runs;
    await connection.close();
    await clientConnection.close();
  }
  return { name: 'cycle start → CallOpened stored vs bare workflow+activity', ours, baseline, unit: 'ms' };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
}

main().catch((error: Error) => {
  console.error(error);
  process.exit(1);
});
