import { randomBytes } from 'node:crypto';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { Contract, type Answer } from './contract';
import { applicant, auditor, bearer, pm, startHarness, type Harness } from './cycle-commands.support';

/**
 * The API contract on real parts (PostgreSQL, Temporal dev server, worker, HTTP API): the served
 * OpenAPI 3.1 document is valid, documents every error status with its problem body, and what the
 * API really answers keeps it: every operation is called (successes and refusals), and each answer's
 * status is documented for it and its body matches the documented schema.
 */
/** Liveness and readiness answer without a token (probes carry none). */
// The console's local sign-in is public too, and exists only outside production (dev-sign-in.int-spec).
const isPublic = (path: string) => path === '/health' || path.startsWith('/health/') || path === '/v1/dev/tokens';

describe('API contract (OpenAPI 3.1) against the started API', () => {
  let harness: Harness;
  let contract: Contract;
  const slug = `contract-${randomBytes(3).toString('hex')}`;
  const cycleId = cycleWorkflowId(slug, 2031);
  const problems: string[] = [];
  const seen = new Map<string, Set<number>>();

  /** Sends one request and checks its answer against the operation `method template`. */
  async function call(method: string, template: string, path: string, token: string | undefined, body?: unknown): Promise<Answer> {
    let req = harness.http()[method.toLowerCase() as 'get'](path);
    if (token) req = req.set('Authorization', token);
    const res = body === undefined ? await req : await req.send(body as object);
    const answer = { status: res.status, body: res.body, headers: res.headers };
    problems.push(...contractProblems(method, template, answer));
    seen.set(`${method} ${template}`, (seen.get(`${method} ${template}`) ?? new Set()).add(res.status));
    return answer;
  }
  const contractProblems = (method: string, template: string, answer: Answer) => contract.problems(method, template, answer);

  beforeAll(async () => {
    harness = await startHarness(`contract-${slug}`);
    const served = await harness.http().get('/docs/json').expect(200);
    contract = await Contract.of(served.body);
  });
  afterAll(() => harness?.close());

  it('serves a valid OpenAPI 3.1 document with answers and problem bodies derived from the routes', () => {
    expect(contract.document.openapi).toBe('3.1.0');
    const operations = contract.operations();
    expect(operations.length).toBeGreaterThan(40);
    for (const { method, path, operation } of operations) {
      const statuses = Object.keys(operation.responses).map(Number);
      const success = statuses.filter((s) => s < 300);
      expect([`${method} ${path}`, success.length]).toEqual([`${method} ${path}`, 1]);
      expect(operation.responses[String(success[0])].content?.['application/json'].schema).toBeDefined();
      for (const status of [400, 429, 503]) {
        expect([path, status, operation.responses[String(status)]?.content?.['application/problem+json']?.schema]).toEqual([path, status, expect.objectContaining({ required: ['statusCode', 'error', 'message'] })]);
      }
      if (!isPublic(path)) expect([path, statuses]).toEqual([path, expect.arrayContaining([401, 403])]);
    }
    const start = contract.document.paths['/v1/programs/{slug}/cycles'].post as unknown as { requestBody: { content: Record<string, { schema: unknown }> } };
    const panel = (start.requestBody.content['application/json'].schema as { properties: { panel: { properties: object; required?: string[] } } }).properties.panel;
    expect(Object.keys(panel.properties)).toEqual(['reviewers', 'evaluators']);
    expect(panel.required ?? []).toEqual([]); // both default to empty lists
    expect(JSON.stringify(contract.document)).not.toContain('$schema');
  });

  it('answers every operation with a documented status and a body that matches its schema', async () => {
    // Successes along a program's life: create, read, start a cycle (panel without reviewers), read it every way.
    expect((await call('POST', '/v1/programs', '/v1/programs', pm, { slug, name: 'Contract program' })).status).toBe(201);
    expect((await call('POST', '/v1/programs', '/v1/programs', pm, { slug, name: 'Again' })).status).toBe(409);
    expect((await call('GET', '/v1/programs', '/v1/programs', pm)).status).toBe(200);
    expect((await call('GET', '/v1/programs/{slug}', `/v1/programs/${slug}`, auditor)).status).toBe(200);
    expect((await call('GET', '/v1/programs/{slug}', '/v1/programs/nothing-here', auditor)).status).toBe(404);
    const started = await call('POST', '/v1/programs/{slug}/cycles', `/v1/programs/${slug}/cycles`, pm, { year: 2031, panel: { evaluators: [{ subject: 'evaluator-1', organisationId: 'eval-org' }] } });
    expect(started.status).toBe(201);
    expect((await call('POST', '/v1/programs/{slug}/cycles', `/v1/programs/${slug}/cycles`, pm, { year: 2031 })).status).toBe(409);
    expect((await call('GET', '/v1/cycles/{id}', `/v1/cycles/${cycleId}`, auditor)).status).toBe(200);
    // 404 until the worker has recorded the call's opening.
    expect([200, 404]).toContain((await call('GET', '/v1/cycles/{id}', `/v1/cycles/${cycleId}?asOf=${encodeURIComponent(new Date().toISOString())}`, auditor)).status);
    expect((await call('POST', '/v1/gpu/capacity', '/v1/gpu/capacity', pm, { site: 's1', cluster: 'c1', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2031-01-01T00:00:00Z' })).status).toBe(201);
    expect((await call('POST', '/v1/cycles/{id}/applications', `/v1/cycles/${cycleId}/applications`, applicant('org-a'), {})).status).toBe(400);

    // Then every operation of the document, as an admin with the path filled in: whatever it
    // answers (a success, or a refusal of a command at this stage) must be documented.
    const admin = bearer({ sub: 'admin-1', role: 'admin' });
    const query: Record<string, string> = { '/v1/audit/cycles/{id}/state': `?asOf=${encodeURIComponent(new Date().toISOString())}`, '/v1/audit/access-log': `?date=${new Date().toISOString().slice(0, 10)}` };
    for (const { method, path } of contract.operations()) {
      const concrete = path.replace('{id}', cycleId).replace('{slug}', slug).replace('{applicationId}', 'app-a').replace('{scope}', 'organisations') + (query[path] ?? '');
      const answer = await call(method.toUpperCase(), path, concrete, admin, method === 'get' ? undefined : {});
      expect([method, path, answer.status]).toEqual([method, path, expect.any(Number)]);
      expect(answer.status).toBeLessThan(500);
      // Without a token: 401 (except the health routes).
      if (!isPublic(path)) expect((await call(method.toUpperCase(), path, concrete, undefined, method === 'get' ? undefined : {})).status).toBe(401);
    }
    expect((await call('POST', '/v1/cycles/{id}/cancel', `/v1/cycles/${cycleId}/cancel`, pm, { reason: 'contract test done' })).status).toBe(200);
    expect(problems).toEqual([]);
    // Every read answered a success to someone.
    const gets = contract.operations().filter((o) => o.method === 'get');
    expect(gets.filter((o) => ![...(seen.get(`GET ${o.path}`) ?? [])].some((s) => s < 300)).map((o) => o.path)).toEqual([]);
  });
});
