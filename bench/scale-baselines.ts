/**
 * Same-run baselines for the scale section (bench/scale-call.ts), so every line is a ratio:
 *   - commands: the same request bodies, from the same number of clients, to a bare NestJS route
 *     that parses the JSON and answers 201 (what HTTP and Nest cost, with nothing behind them);
 *   - grants: as many bare workflows as grants, each running one activity, started at once on the
 *     same dev server (what Temporal costs for that fan-out, with no GPU ledger behind it);
 *   - reads: autocannon at 100 connections on a bare Nest GET, next to the same on our read routes.
 */
import 'reflect-metadata';
import { Body, Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import { drive, timed, type Outcome, type PhaseResult } from './scale-api';

@Controller()
class BareController {
  @Get('ping')
  ping() {
    return { ok: true };
  }

  @Post('echo')
  @HttpCode(201)
  echo(@Body() body: Record<string, unknown>) {
    return { accepted: typeof body === 'object' };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

export interface BareNest {
  url: string;
  close(): Promise<void>;
}

export async function startBareNest(): Promise<BareNest> {
  const app = await NestFactory.create<NestExpressApplication>(BareModule, { logger: false });
  // As large a body as the admin API takes: a full application must fit.
  app.useBodyParser('json', { limit: '1mb' });
  await app.listen(0, '127.0.0.1');
  return { url: await app.getUrl(), close: () => app.close() };
}

/** The same bodies, the same number of clients, to the bare route. */
export function commandBaseline<T>(bare: BareNest, name: string, items: T[], concurrency: number, body: (item: T) => unknown): Promise<PhaseResult> {
  return drive(`${name} (bare)`, items, concurrency, 60_000, async (item): Promise<Outcome> => {
    const res = await fetch(`${bare.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body(item)) });
    await res.arrayBuffer();
    return res.status === 201 ? { ok: true, retried: false } : { ok: false, reason: `HTTP ${res.status}` };
  });
}

/** Seconds until `count` bare workflows, started at once, have each run one activity. */
export async function fanOutBaseline(address: string, count: number): Promise<number> {
  const native = await NativeConnection.connect({ address });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  const taskQueue = `bench-bare-${randomBytes(3).toString('hex')}`;
  const worker = await Worker.create({ connection: native, taskQueue, workflowsPath: require.resolve('./bare-workflow'), activities: { noop: async () => undefined } });
  const running = worker.run();
  try {
    const { ms } = await timed(() =>
      Promise.all(Array.from({ length: count }, (_, i) => client.workflow.execute('bareWorkflow', { taskQueue, workflowId: `bare-grant-${taskQueue}-${i}` }))),
    );
    return ms / 1000;
  } finally {
    worker.shutdown();
    await running;
    await connection.close();
    await native.close();
  }
}

export interface LoadResult {
  path: string;
  requests: number;
  perSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** autocannon: `connections` clients hammering one GET for `seconds`. */
export async function readLoad(base: string, path: string, headers: Record<string, string>, connections = 100, seconds = 5): Promise<LoadResult> {
  const r = await autocannon({ url: `${base}${path}`, headers, connections, duration: seconds });
  return { path, requests: r.requests.total, perSecond: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors };
}

/** One client, one request at a time: the cost of a read with nothing else going on (ms each). */
export async function sequentialLatencies(url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const { ms } = await timed(async () => {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
    });
    out.push(ms);
  }
  return out;
}
