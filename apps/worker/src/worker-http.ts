import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { DependencyProbe, metricsText, registerDatabaseGauges } from '@concentra/observability';
import { WorkerHost } from '@concentra/temporal';

const RETRY_AFTER_SECONDS = 5;

export interface WorkerHttpOptions {
  host: string;
  port: number;
  /** The Temporal SDK's Prometheus exporter (core's), whose text is appended to /metrics. */
  sdkMetricsUrl?: string;
}

/**
 * The worker's small HTTP listener: `/metrics` (our metrics, then the Temporal SDK's), `/health/live`,
 * and `/health/ready` (PostgreSQL, Temporal, and the worker RUNNING, i.e. polling): 503 with
 * Retry-After while any is not.
 */
export async function startWorkerHttp(app: INestApplicationContext, options: WorkerHttpOptions): Promise<{ server: Server; port: number }> {
  const db = app.get(DataSource);
  const host = app.get(WorkerHost);
  registerDatabaseGauges(db);
  const postgres = new DependencyProbe('postgresql', () => db.query('SELECT 1'));
  const temporal = new DependencyProbe('temporal', async () => {
    if (!host.nativeConnection) throw new Error('not connected');
    await host.nativeConnection.healthService.check({});
  });
  const server = createServer((req, res) => {
    const route = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (route === '/metrics') {
        const own = await metricsText();
        const sdk = options.sdkMetricsUrl ? await fetch(options.sdkMetricsUrl).then((r) => r.text(), () => '') : '';
        res.writeHead(200, { 'Content-Type': own.contentType }).end(`${own.body}\n${sdk}`);
      } else if (route === '/health/live') {
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ status: 'ok' }));
      } else if (route === '/health/ready' || route === '/health') {
        const [database, temporalUp] = await Promise.all([postgres.check(), temporal.check()]);
        const worker = host.state;
        const details = {
          postgresql: { status: database.up ? 'up' : 'down', ...(database.error ? { reason: database.error } : {}) },
          temporal: { status: temporalUp.up ? 'up' : 'down', ...(temporalUp.error ? { reason: temporalUp.error } : {}) },
          worker: { status: worker === 'RUNNING' ? 'up' : 'down', state: worker },
          // With versioning on: the version it polls as, and whether the server routes tasks to it yet.
          ...(host.versioning ? { deployment: { status: ['pending', 'failed'].includes(host.versioning.promotion) ? 'down' : 'up', ...host.versioning } } : {}),
        };
        const ok = Object.values(details).every((d) => d.status === 'up');
        res
          .writeHead(ok ? 200 : 503, { 'Content-Type': 'application/json', ...(ok ? {} : { 'Retry-After': String(RETRY_AFTER_SECONDS) }) })
          .end(JSON.stringify({ status: ok ? 'ok' : 'error', details }));
      } else {
        res.writeHead(404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ statusCode: 404, error: 'not_found' }));
      }
    })().catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500).end(error.message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
