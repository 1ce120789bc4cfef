import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { randomBytes } from 'node:crypto';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { EventStore } from '@concentra/persistence';
import { checkManifest, type CycleBundle } from '@concentra/audit';
import { createAdminApi } from '../src/bootstrap';
import { issueToken, type Principal } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { adoptDefaultPolicy, connectDevServer, playedYear, POLICY_HASH, scriptedInput, type DevServerRun } from '../../../libs/audit/test/support';

/**
 * The auditor's endpoints over HTTP on real parts (PostgreSQL, the Temporal dev server): what they
 * answer, that each use is recorded, that `asOf` matches what the API showed at the time, and that
 * an auditor can change nothing.
 */
describe('audit API (auditor role, read-only)', () => {
  let database: TestDatabase;
  let temporal: DevServerRun;
  let api: INestApplication;
  const tag = randomBytes(3).toString('hex');
  const cycleId = `cycle:audit-api-${tag}:2027`;
  const token = (role: Principal['role'], sub = `${role}-1`) => `Bearer ${issueToken({ sub, role, org: role === 'applicant' ? 'org-1' : undefined }, DEVELOPMENT_JWT_SECRET, 'concentra')}`;
  const auditor = token('auditor');
  /** What GET /v1/cycles/:id showed after each batch, and when. */
  const seen: { at: string; stage: string; lastPosition: number }[] = [];

  beforeAll(async () => {
    [database, temporal] = await Promise.all([createTestDatabase(), connectDevServer()]);
    Object.assign(process.env, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, MIGRATIONS_RUN: 'false' });
    api = await createAdminApi(['error', 'warn']);
    await api.init();
    await adoptDefaultPolicy(database.db, `audit-api-${tag}`);

    // A year played by libs/domain, recorded batch by batch through the real event activity;
    // after each batch the test reads the cycle through the API, as a program manager would.
    const input = scriptedInput(playedYear(), 12, true);
    const taskQueue = `audit-api-${tag}`;
    await temporal.withWorker(database.db, taskQueue, async () => {
      const handle = await temporal.client.workflow.start('scriptedCycle', { workflowId: cycleId, taskQueue, args: [input] });
      let position = 0;
      for (const [i, batch] of input.batches.entries()) {
        if (i > 0) await handle.signal('next');
        position += batch.events.length;
        seen.push(await waitForPosition(position));
      }
      await handle.result();
    });
  });

  afterAll(async () => {
    await api?.close();
    await temporal?.close();
    await database?.drop();
  });

  /** Polls the API (bounded) until the projection has the cycle at `position`. */
  async function waitForPosition(position: number): Promise<{ at: string; stage: string; lastPosition: number }> {
    for (let attempt = 0; attempt < 200; attempt++) {
      const res = await request(api.getHttpServer()).get(`/v1/cycles/${cycleId}`).set('Authorization', token('program_manager'));
      const recorded = res.body?.recorded as { stage: string; lastPosition: number } | undefined;
      if (attempt === 199) console.error(res.status, JSON.stringify(res.body).slice(0, 500));
      if (res.status === 200 && recorded && recorded.lastPosition >= position) return { at: new Date().toISOString(), stage: recorded.stage, lastPosition: recorded.lastPosition };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`the cycle did not reach position ${position}`);
  }

  it('timeline: who did what when, under which policy', async () => {
    const res = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/timeline`).set('Authorization', auditor).expect(200);
    expect(res.body.entries.length).toBe(seen[seen.length - 1].lastPosition);
    expect(res.body.lines.find((l: string) => l.includes('AwardeesSelected'))).toMatch(/awardees selected: a1, a2, a3, a4, a5/);
    expect(res.body.entries[0]).toMatchObject({ type: 'CallOpened', policyHash: POLICY_HASH, who: 'program_manager:pm-1' });
  });

  it('verify: the cycle chains, and the whole store', async () => {
    const cycle = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/verify`).set('Authorization', auditor).expect(200);
    expect(cycle.body).toMatchObject({ cycleId, ok: true, firstBroken: null, explanation: null });
    const all = await request(api.getHttpServer()).get('/v1/audit/verify').set('Authorization', auditor).expect(200);
    expect(all.body).toMatchObject({ ok: true, firstBroken: null });
  });

  it('rederive: every decision recomputed with libs/domain matches', async () => {
    const res = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/rederive`).set('Authorization', auditor).expect(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.decisions.map((d: { decisionKey: string }) => d.decisionKey)).toEqual(['review:1', 'selection', 'narrowing:1']);
  });

  it('export and cross-check: a bundle whose manifest checks out, every step traced', async () => {
    const res = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/export`).set('Authorization', auditor).expect(200);
    const bundle = res.body as CycleBundle;
    expect(bundle).toMatchObject({ cycleId, exportedBy: 'auditor:auditor-1' });
    expect(bundle.workflows.map((w) => w.workflowId)).toEqual([cycleId]);
    expect(checkManifest(bundle)).toEqual([]);
    const cross = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/cross-check`).set('Authorization', auditor).expect(200);
    expect(cross.body).toMatchObject({ ok: true, problems: [], manifest: [] });
  });

  it('asOf answers what the API showed at each moment of the scenario', async () => {
    expect(new Set(seen.map((s) => s.stage)).size).toBeGreaterThan(2); // the scenario moved through stages
    for (const shown of seen) {
      const res = await request(api.getHttpServer())
        .get(`/v1/audit/cycles/${cycleId}/state`)
        .query({ asOf: shown.at })
        .set('Authorization', auditor)
        .expect(200);
      expect({ stage: res.body.stage, position: res.body.position }).toEqual({ stage: shown.stage, position: shown.lastPosition });
    }
    const before = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/state`).query({ asOf: '2000-01-01T00:00:00Z' }).set('Authorization', auditor).expect(200);
    expect(before.body).toMatchObject({ exists: false, stage: null, position: 0 });
    const bad = await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/state`).query({ asOf: 'last tuesday' }).set('Authorization', auditor).expect(400);
    expect(bad.body.fields).toEqual([expect.objectContaining({ field: '(body)' })]);
  });

  it('records every use of an audit endpoint: who, what, when', async () => {
    const before = new Date();
    await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/timeline`).set('Authorization', token('auditor', 'inspector-7')).expect(200);
    const log = await request(api.getHttpServer()).get('/v1/audit/access-log').query({ date: before.toISOString().slice(0, 10) }).set('Authorization', auditor).expect(200);
    const mine = (log.body as { at: string; who: { subject: string; role: string }; action: string; target: string }[]).filter((e) => e.who?.subject === 'inspector-7');
    expect(mine).toEqual([expect.objectContaining({ action: 'timeline', target: cycleId, who: { role: 'auditor', subject: 'inspector-7' } })]);
    expect(Date.parse(mine[0].at)).toBeGreaterThanOrEqual(before.getTime() - 1000);
    // The log is itself a hash-chained stream.
    const stream = await new EventStore(database.db).readStream(`audit:${before.toISOString().slice(0, 10)}`);
    expect(stream.length).toBeGreaterThanOrEqual(6);
    expect(stream.every((e, i) => e.prevHash === (i === 0 ? null : stream[i - 1].hash))).toBe(true);
  });

  it('audit endpoints are closed to other roles, and unknown cycles are a 404', async () => {
    await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/timeline`).set('Authorization', token('reviewer')).expect(403);
    await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/export`).set('Authorization', token('applicant')).expect(403);
    await request(api.getHttpServer()).get(`/v1/audit/cycles/${cycleId}/timeline`).expect(401);
    await request(api.getHttpServer()).get(`/v1/audit/cycles/cycle:nobody:1999/timeline`).set('Authorization', auditor).expect(404);
  });

  it('an auditor token changes nothing: every write route answers 403', async () => {
    const http = request(api.getHttpServer());
    const docs = await http.get('/docs/json').expect(200);
    const fromOpenApi = Object.entries(docs.body.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
    );
    const fromRouter = routerRoutes(api);
    // The console's local sign-in issues tokens and writes no program data; it is open to anyone
    // outside production and absent in production (dev-sign-in.int-spec), so it is no write to refuse.
    const writes = uniq([...fromOpenApi, ...fromRouter].filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method) && r.path !== '/v1/dev/tokens'));
    expect(writes.length).toBeGreaterThanOrEqual(3);
    expect(writes.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(['POST /v1/programs', 'POST /v1/programs/{slug}/cycles']));
    const eventsBefore = await countEvents();
    const answers: string[] = [];
    for (const route of writes) {
      const path = route.path.replace(/\{[^}]+\}|:[A-Za-z_]+/g, (p) => (p.includes('id') ? cycleId : 'any'));
      const res = await http[route.method.toLowerCase() as 'post' | 'put' | 'patch' | 'delete'](path).set('Authorization', auditor).send({});
      answers.push(`${route.method} ${route.path} → ${res.status}`);
    }
    expect(answers.filter((a) => !a.endsWith('→ 403'))).toEqual([]);
    expect(answers.length).toBe(writes.length);
    expect(await countEvents()).toBe(eventsBefore);
  });

  async function countEvents(): Promise<number> {
    // Everything except the access log, which the audit reads above append to.
    return Number((await database.db.query(`SELECT count(*) AS n FROM events WHERE stream_id NOT LIKE 'audit:%'`))[0].n);
  }
});

/** The routes Express actually serves (a route missing from the OpenAPI document is still enumerated). */
function routerRoutes(app: INestApplication): { method: string; path: string }[] {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: Layer[] }; _router?: { stack: Layer[] } };
  const stack = (express.router ?? express._router)?.stack ?? [];
  // Wildcard layers are middleware mounted on every path (nestjs-pino's request logger), not endpoints.
  return stack
    .filter((layer) => layer.route && !layer.route.path.includes('*'))
    .flatMap((layer) => Object.keys(layer.route!.methods).filter((m) => layer.route!.methods[m]).map((m) => ({ method: m.toUpperCase(), path: layer.route!.path })));
}
type Layer = { route?: { path: string; methods: Record<string, boolean> } };

function uniq(routes: { method: string; path: string }[]): { method: string; path: string }[] {
  const norm = (p: string) => p.replace(/:([A-Za-z_]+)/g, '{$1}');
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of routes) seen.set(`${r.method} ${norm(r.path)}`, { method: r.method, path: norm(r.path) });
  return [...seen.values()];
}
