import { rankBenchmarks, sampleItems } from '@concentra/domain';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { EvaluationRun, EvaluationRunStore, loadSuite, type RunEvaluationInput, type RunProgress } from '../src';
import { startLoopbackModel, type Behaviour, type LoopbackModel } from './support/loopback-model';

/**
 * The evaluation run over real HTTP (the official openai client against loopback servers) with its
 * per-item results in real PostgreSQL.
 */
describe('a benchmark run against teams’ endpoints', () => {
  let database: TestDatabase;
  const servers: LoopbackModel[] = [];
  const { suite, version } = loadSuite('basic-reasoning');

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await database?.drop();
  });

  const serve = async (name: string, behaviour: Behaviour, token?: string) => {
    const s = await startLoopbackModel({ name, suite, behaviour, token });
    servers.push(s);
    return s;
  };
  const input = (team: string, server: LoopbackModel, extra: Partial<RunEvaluationInput> = {}): RunEvaluationInput => ({
    runId: `cycle:eval:2027:evaluation:1:${team}`, cycleId: 'cycle:eval:2027', round: 1, applicationId: team, suite: 'basic-reasoning',
    suiteVersion: version, endpoint: { baseUrl: server.baseUrl, model: `${team}-model` }, requestTimeoutMs: 2_000, ...extra,
  });
  const run = (i: RunEvaluationInput, signal: AbortSignal = new AbortController().signal, beats: RunProgress[] = []) =>
    new EvaluationRun(database.db, { retryBackoffMs: 20, env: { EVAL_CREDENTIAL_TEAM_SECRET: 'sk-loopback' } }).run(i, { heartbeat: (p) => beats.push(p), signal });
  const asked = (s: LoopbackModel) => [...s.arrived.values()].reduce((a, b) => a + b, 0);

  it('scores three models of known accuracy within their 95 % intervals and flags the two closest as not separable', async () => {
    const designed = { 'team-a': 0.8, 'team-b': 0.6, 'team-c': 0.3 };
    const results = [];
    for (const [team, p] of Object.entries(designed)) {
      const server = await serve(team, { kind: 'accuracy', p });
      const beats: RunProgress[] = [];
      const result = await run(input(team, server), undefined, beats);
      results.push(result);
      // Scored right exactly where the model was designed to be right, item by item.
      const rightIds = sampleItems(suite).filter((i) => server.designedRight(i)).map((i) => i.id);
      expect(result.outcomes.filter((o) => o[1] === 1).map((o) => o[0])).toEqual(rightIds);
      expect(result.correct).toBe(rightIds.length);
      // The model's designed accuracy lies within the interval its 40 answers give.
      expect(result.interval.low).toBeLessThanOrEqual(p);
      expect(result.interval.high).toBeGreaterThanOrEqual(p);
      expect(result.interval.low).toBeLessThanOrEqual(result.accuracy);
      expect(result.interval.high).toBeGreaterThanOrEqual(result.accuracy);
      expect(result).toMatchObject({ suite: 'basic-reasoning', suiteVersion: version, seed: suite.seed, items: 40, errors: 0 });
      expect(result.outcomes.every((o) => /^[0-9a-f]{64}$/.test(o[2] ?? ''))).toBe(true);
      // Heartbeats count up to every item; each item was asked once.
      expect(beats.at(-1)).toEqual({ done: 40, total: 40, errors: 0 });
      expect([...server.arrived.values()]).toEqual(Array(40).fill(1));
    }
    const ranked = rankBenchmarks(results);
    expect(ranked.map((r) => r.applicationId)).toEqual(['team-a', 'team-b', 'team-c']);
    expect(ranked[0].notSeparableFrom).toContain('team-b');
    expect(ranked[0].notSeparableFrom).not.toContain('team-c');
    expect(ranked[2].notSeparableFrom).not.toContain('team-a');
  });

  it('asks a finished run nothing more and answers the same result', async () => {
    const server = await serve('team-d', { kind: 'accuracy', p: 0.7 });
    const first = await run(input('team-d', server));
    const again = await run(input('team-d', server));
    expect(again).toEqual(first);
    expect(asked(server)).toBe(40);
  });

  it('retries an item whose first ask times out, and records the try that answered', async () => {
    const server = await serve('team-hang', { kind: 'hang_first_ask' });
    const result = await run(input('team-hang', server, { requestTimeoutMs: 1_000, concurrency: 8, maxAttempts: 4 }));
    expect(result).toMatchObject({ accuracy: 1, errors: 0, items: 40 });
    // Every first ask timed out; the stored tries are the asks that arrived (a loaded machine may time out a second one too).
    const stored = await new EvaluationRunStore(database.db).items(input('team-hang', server).runId);
    expect(stored).toHaveLength(40);
    for (const item of stored) {
      expect(item.attempts).toBeGreaterThanOrEqual(2);
      expect(item.attempts).toBe(server.arrived.get(item.itemId));
    }
  });

  it('gives up on malformed answers after the bounded tries, with a clear error per item', async () => {
    const server = await serve('team-broken', { kind: 'malformed' });
    const beats: RunProgress[] = [];
    const result = await run(input('team-broken', server, { maxAttempts: 3 }), undefined, beats);
    expect(result).toMatchObject({ accuracy: 0, correct: 0, errors: 40, interval: { low: 0, high: 0 } });
    expect(result.itemErrors).toHaveLength(40);
    for (const e of result.itemErrors) expect(e.error).toMatch(/^the answer is not valid JSON: .* \(after 3 of 3 tries\)$/);
    expect([...server.arrived.values()]).toEqual(Array(40).fill(3));
    expect(beats.at(-1)).toEqual({ done: 40, total: 40, errors: 40 });
  });

  it('keeps to the concurrency limit on a slow endpoint', async () => {
    const server = await serve('team-slow', { kind: 'slow', delayMs: 40 });
    const result = await run(input('team-slow', server, { concurrency: 3 }));
    expect(result.accuracy).toBe(1);
    expect(server.maxInFlight).toBe(3);
  });

  it('reads the credential from its reference at run time, and refuses clearly when it is not configured', async () => {
    const server = await serve('team-secret', { kind: 'accuracy', p: 1 }, 'sk-loopback');
    const ok = await run(input('team-secret', server, { endpoint: { baseUrl: server.baseUrl, model: 'm', credentialRef: 'team-secret' } }));
    expect(ok.accuracy).toBe(1);
    await expect(run(input('team-other', server, { endpoint: { baseUrl: server.baseUrl, model: 'm', credentialRef: 'team-other' } }))).rejects.toThrow(
      'the credential reference is not configured on the worker: EVAL_CREDENTIAL_TEAM_OTHER is unset',
    );
    const runs = (await database.db.query(`SELECT credential_ref FROM evaluation_runs WHERE run_id = $1`, [input('team-secret', server).runId])) as Array<{ credential_ref: string }>;
    expect(runs).toEqual([{ credential_ref: 'team-secret' }]);
  });

  it('stops when cancelled, and the resumed run asks only what was not answered', async () => {
    const cancel = new AbortController();
    const server = await startLoopbackModel({
      name: 'team-cancel', suite, behaviour: { kind: 'accuracy', p: 0.5 },
      onArrival: (_id, _n, total) => {
        if (total === 11) cancel.abort(new Error('cancelled by the workflow'));
      },
    });
    servers.push(server);
    const i = input('team-cancel', server, { concurrency: 1 });
    await expect(run(i, cancel.signal)).rejects.toThrow('cancelled by the workflow');
    const storedBefore = await new EvaluationRunStore(database.db).items(i.runId);
    expect(storedBefore).toHaveLength(10);
    const result = await run(i);
    expect(result.items).toBe(40);
    // Ten answered and stored before the cancel; the eleventh, cut by it, is the one item asked twice.
    expect(asked(server)).toBe(41);
    const twice = [...server.arrived].filter(([, n]) => n === 2).map(([id]) => id);
    expect(twice).toHaveLength(1);
    expect(storedBefore.map((x) => x.itemId)).not.toContain(twice[0]);
    const storedAfter = await new EvaluationRunStore(database.db).items(i.runId);
    expect(storedAfter).toHaveLength(40);
    expect(storedAfter.filter((x) => x.itemId !== twice[0]).every((x) => x.attempts === 1)).toBe(true);
  });
});
