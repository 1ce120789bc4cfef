import { randomBytes } from 'node:crypto';
import { loadEnvironment } from '@concentra/config';
import { startTracing, type Tracing } from '@concentra/observability';
import { SEARCH_ATTRIBUTES, cycleWorkflowId, type CycleInput } from '@concentra/workflows/contracts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../../../test/support/otlp-receiver';
import { applicant, company, eventually, expectStatus, panel, pm, shortPolicy, startHarness, type Harness } from './cycle-commands.support';

/**
 * With an OTLP endpoint configured, one request is one trace from the HTTP route through the
 * Temporal client's call, the workflow's handling of it and the activity that stored its event,
 * as a real OTLP/HTTP receiver on loopback gets it from the exporter.
 */
describe('traces exported by OTLP/HTTP', () => {
  const slug = `traced-${randomBytes(3).toString('hex')}`;
  const id = cycleWorkflowId(slug, 2027);
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let h: Harness;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = startTracing(loadEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint }), 'test')!;
    h = await startHarness(`traced-${slug}`);
  });
  afterAll(async () => {
    await h?.close();
    await tracing?.stop();
    await receiver?.close();
  });

  /** The spans of one trace, once `names` have all arrived (the exporter batches; bounded wait). */
  async function traceOf(traceId: string, names: RegExp[]): Promise<ReceivedSpan[]> {
    const spans = () => receiver.spans.filter((s) => s.traceId === traceId);
    await eventually(`spans ${names.join(', ')} of trace ${traceId}`, async () => {
      await tracing.flush();
      return names.every((n) => spans().some((s) => n.test(s.name)));
    }, 30_000);
    return spans();
  }

  /** The chain of parents from a span up to the trace's root, by name. */
  function ancestry(spans: ReceivedSpan[], from: ReceivedSpan): string[] {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const chain: string[] = [];
    for (let s: ReceivedSpan | undefined = from; s; s = s.parentSpanId ? byId.get(s.parentSpanId) : undefined) chain.push(s.name);
    return chain;
  }

  it('follows one request from the HTTP route to the activity that stored its event', async () => {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Traced programme', policy: shortPolicy() }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2027, panel }), 201);
    await eventually('the call to open', async () => (await h.http().get(`/v1/cycles/${id}`).set('Authorization', pm)).body.live?.stage === 'call', 30_000);

    // The caller's own trace (a gateway's traceparent) is continued, not replaced.
    const traceId = randomBytes(16).toString('hex');
    const callerSpan = randomBytes(8).toString('hex');
    expectStatus(
      await h
        .http()
        .post(`/v1/cycles/${id}/applications`)
        .set('Authorization', applicant('org-a'))
        .set('traceparent', `00-${traceId}-${callerSpan}-01`)
        .send({ applicationId: 'alpha', title: 'Alpha', lead: company('org-a') }),
      201,
    );
    const spans = await traceOf(traceId, [/^RunActivity:recordEvents$/, /^POST /]);
    const run = spans.find((s) => s.name === 'RunActivity:recordEvents')!;
    // HTTP server span → client Update → the workflow's Update handler → its activity schedule → the activity run.
    expect(ancestry(spans, run)).toEqual([
      'RunActivity:recordEvents',
      'StartActivity:recordEvents',
      'HandleUpdate:SubmitApplication',
      'StartWorkflowUpdate:SubmitApplication',
      'POST /v1/cycles/:id/applications',
    ]);
    const http = spans.find((s) => s.name === 'POST /v1/cycles/:id/applications')!;
    expect(http).toMatchObject({ parentSpanId: callerSpan, kind: 2, attributes: { 'http.route': '/v1/cycles/:id/applications', 'http.response.status_code': 201 } });
    expect(run.attributes).toMatchObject({ temporalWorkflowId: id });
    // The validator ran inside the same trace, before the handler.
    expect(spans.find((s) => s.name === 'ValidateUpdate:SubmitApplication')?.parentSpanId).toBe(spans.find((s) => s.name === 'StartWorkflowUpdate:SubmitApplication')!.spanId);
    // And that activity did store the request's event.
    const stored = (await h.database.db.query(`SELECT type FROM events WHERE stream_id = $1 AND type = 'ApplicationSubmitted'`, [id])) as { type: string }[];
    expect(stored).toHaveLength(1);
    expect(receiver.contentTypes.every((t) => t === 'application/json')).toBe(true);
  });

  it('follows the cycle start from its route into the workflow run and its first stored event', async () => {
    const start = receiver.spans.find((s) => s.name === 'POST /v1/programs/:slug/cycles')!;
    expect(start).toBeDefined();
    const spans = await traceOf(start.traceId, [/^StartWorkflow:programCycle$/, /^RunActivity:recordEvents$/]);
    expect(spans.find((s) => s.name === 'StartWorkflow:programCycle')!.parentSpanId).toBe(start.spanId);
    // The run's own span (RunWorkflow:programCycle) is exported when the run ends, months later; its
    // first activity is already in the request's trace, scheduled from inside that run.
    const run = spans.find((s) => s.name === 'RunActivity:recordEvents')!;
    const scheduled = spans.find((s) => s.spanId === run.parentSpanId)!;
    expect(scheduled).toMatchObject({ name: 'StartActivity:recordEvents', attributes: { workflowId: id, workflowType: 'programCycle' } });
  });

  it('leaves a workflow started untraced without spans until a traced command reaches it, then follows that command', async () => {
    // A cycle started by a client without tracing (as before tracing was turned on): its workflow makes no spans.
    const quiet = `quiet-${slug}`;
    const program = expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug: quiet, name: 'Quiet programme', policy: shortPolicy() }), 201).body as Pick<CycleInput, 'policy' | 'policyHash'>;
    const quietId = cycleWorkflowId(quiet, 2027);
    const input: CycleInput = { programSlug: quiet, year: 2027, policy: program.policy, policyHash: program.policyHash, startedBy: { role: 'program_manager', subject: 'pm-1' }, panel };
    await h.client.workflow.start('programCycle', {
      workflowId: quietId,
      taskQueue: `traced-${slug}`,
      args: [input],
      searchAttributes: { [SEARCH_ATTRIBUTES.program]: [quiet], [SEARCH_ATTRIBUTES.year]: [2027], [SEARCH_ATTRIBUTES.stage]: ['call'] },
    });
    await eventually('the quiet call to open', async () => (await h.http().get(`/v1/cycles/${quietId}`).set('Authorization', pm)).body.live?.stage === 'call', 30_000);
    expect(await h.eventCount(quietId)).toBeGreaterThan(0); // its opening was stored by the activity...
    await tracing.flush();
    // ...and the workflow made no span (its spans carry `workflowId`); the worker's activity runs are
    // roots of their own, as no context came with them (the API's queries are under their GET routes).
    expect(receiver.spans.filter((s) => s.attributes.workflowId === quietId)).toEqual([]);
    const runs = receiver.spans.filter((s) => s.name === 'RunActivity:recordEvents' && s.attributes.temporalWorkflowId === quietId);
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.filter((s) => s.parentSpanId)).toEqual([]);

    const traceId = randomBytes(16).toString('hex');
    expectStatus(
      await h
        .http()
        .post(`/v1/cycles/${quietId}/applications`)
        .set('Authorization', applicant('org-b'))
        .set('traceparent', `00-${traceId}-${randomBytes(8).toString('hex')}-01`)
        .send({ applicationId: 'beta', title: 'Beta', lead: company('org-b') }),
      201,
    );
    const spans = await traceOf(traceId, [/^RunActivity:recordEvents$/]);
    expect(ancestry(spans, spans.find((s) => s.name === 'RunActivity:recordEvents')!)).toEqual([
      'RunActivity:recordEvents',
      'StartActivity:recordEvents',
      'HandleUpdate:SubmitApplication',
      'StartWorkflowUpdate:SubmitApplication',
      'POST /v1/cycles/:id/applications',
    ]);
  });
});
