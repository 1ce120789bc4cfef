import type { Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Runtime } from '@temporalio/worker';
import request from 'supertest';
import { loadEnvironment } from '@concentra/config';
import { createRootLogger } from '@concentra/observability';
import { freePort } from '@concentra/tools/temporal-dev-server';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { sdkMetricsUrl, workerRuntimeOptions } from '../../worker/src/runtime';
import { startWorkerHttp } from '../../worker/src/worker-http';
import { applicant, company, eventually, expectStatus, panel, pm, shortPolicy, startHarness, type Harness } from './cycle-commands.support';

/**
 * After a small scenario (a program, a cycle, one accepted and one refused application), `/metrics`
 * on the API and on the worker's listener lists the operators' metrics, and the worker's readiness
 * says PostgreSQL, Temporal and the worker (RUNNING) are up. The worker's page includes the Temporal
 * SDK's own runtime metrics (`temporal_*`), served by the runtime options the worker process installs.
 */
describe('/metrics and worker health after a scenario', () => {
  const slug = `metrics-${randomBytes(3).toString('hex')}`;
  const id = cycleWorkflowId(slug, 2027);
  let h: Harness;
  let workerHttp: { server: Server; port: number };

  beforeAll(async () => {
    // The worker process's own SDK runtime (its Prometheus exporter on a free port) in place of the
    // tests' quiet one, which nothing has used yet in this file.
    const env = loadEnvironment({ LOG_LEVEL: 'warn', WORKER_SDK_METRICS_PORT: String(await freePort()) });
    await Runtime.instance().shutdown();
    Runtime.install(workerRuntimeOptions(env, createRootLogger({ service: 'worker', level: 'warn' })));
    h = await startHarness(`metrics-${slug}`);
    workerHttp = await startWorkerHttp(h.worker, { host: '127.0.0.1', port: 0, sdkMetricsUrl: sdkMetricsUrl(env) });
  });
  afterAll(async () => {
    await new Promise((resolve) => workerHttp?.server.close(resolve));
    await h?.close();
  });

  it('both /metrics list HTTP latency, commands, event appends, projection lag, outbox backlog and the GPU pool; the worker adds the SDK runtime metrics', async () => {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Metrics programme', policy: shortPolicy() }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2027, panel }), 201);
    await eventually('the call to open', async () => (await h.http().get(`/v1/cycles/${id}`).set('Authorization', pm)).body.live?.stage === 'call', 30_000);
    const application = { applicationId: 'alpha', title: 'Alpha', lead: company('org-a') };
    expectStatus(await h.http().post(`/v1/cycles/${id}/applications`).set('Authorization', applicant('org-a')).send(application), 201);
    expectStatus(await h.http().post(`/v1/cycles/${id}/applications`).set('Authorization', applicant('org-a')).send(application), 409);

    const api = await h.http().get('/metrics').expect(200);
    expect(api.headers['content-type']).toMatch(/^text\/plain/);
    expect(api.text).toMatch(/concentra_http_request_duration_seconds_count\{method="POST",route="\/v1\/cycles\/:id\/applications",status="201"\} 1/);
    expect(api.text).toMatch(/concentra_commands_total\{command="cycles\/\{id\}\/applications",outcome="accepted"\} 1/);
    expect(api.text).toMatch(/concentra_commands_total\{command="cycles\/\{id\}\/applications",outcome="refused"\} 1/);
    expect(api.text).toMatch(/concentra_gpu_pool_capacity\{gpu_type="H100"\} [1-9]/);
    expect(api.text).toMatch(/concentra_outbox_backlog \d+/);
    expect(api.text).toMatch(/concentra_projection_lag_events\{projection="[^"]+"\} \d+/);

    const worker = await request(`http://127.0.0.1:${workerHttp.port}`).get('/metrics').expect(200);
    expect(worker.text).toMatch(/concentra_event_append_duration_seconds_count\{outcome="stored"\} [1-9]/);
    expect(worker.text).toMatch(/concentra_events_appended_total [1-9]/);
    expect(worker.text).toMatch(/concentra_gpu_pool_in_use/);
    expect(worker.text).toMatch(/concentra_outbox_backlog \d+/);
    // The Temporal SDK's runtime metrics, from its own exporter, on the same page.
    const queue = `task_queue="metrics-${slug}"`;
    expect(worker.text).toMatch(new RegExp(`temporal_workflow_task_execution_latency_count\\{[^}]*${queue}[^}]*\\} [1-9]`));
    expect(worker.text).toMatch(new RegExp(`temporal_activity_execution_latency_count\\{[^}]*activity_type="recordEvents"[^}]*${queue}[^}]*\\} [1-9]`));
    expect(worker.text).toMatch(new RegExp(`temporal_worker_task_slots_available\\{[^}]*${queue}[^}]*\\} \\d+`));
  });

  it('the worker answers liveness and readiness (PostgreSQL, Temporal, worker RUNNING)', async () => {
    const worker = request(`http://127.0.0.1:${workerHttp.port}`);
    await worker.get('/health/live').expect(200);
    const ready = await worker.get('/health/ready').expect(200);
    expect(ready.body).toEqual({
      status: 'ok',
      details: { postgresql: { status: 'up' }, temporal: { status: 'up' }, worker: { status: 'up', state: 'RUNNING' } },
    });
  });
});
