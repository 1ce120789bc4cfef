import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { EvaluationRunStore, loadSuite, type BenchmarkRunResult, type RunEvaluationInput } from '../src';
import { startLoopbackModel, type LoopbackModel } from './support/loopback-model';

/**
 * The process running an evaluation is killed (SIGKILL) mid-run: when the 16th question reaches
 * the team's server, before it is answered. The next process (as Temporal would retry the activity
 * on another worker) resumes the same run: it asks only what was not stored. Counted on the
 * loopback server: every item answered once, and only the item cut by the kill arrives twice.
 * One request in flight at a time, so the kill always falls between a stored answer and the next ask.
 */
describe('an evaluation run whose worker is killed mid-run', () => {
  let database: TestDatabase;
  let server: LoopbackModel;
  let current: ChildProcess | null = null;
  const kills: string[] = [];
  const { suite, version } = loadSuite('basic-reasoning');

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startLoopbackModel({
      name: 'team-crash',
      suite,
      behaviour: { kind: 'accuracy', p: 0.75 },
      onArrival: async (itemId, _n, total) => {
        const child = current;
        if (total !== 16 || !child || child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
        kills.push(itemId);
      },
    });
  });
  afterAll(async () => {
    current?.kill('SIGKILL');
    await server?.close();
    await database?.drop();
  });

  const input: () => RunEvaluationInput = () => ({
    runId: 'cycle:crash:2027:evaluation:1:team-crash', cycleId: 'cycle:crash:2027', round: 1, applicationId: 'team-crash',
    suite: 'basic-reasoning', suiteVersion: version, endpoint: { baseUrl: server.baseUrl, model: 'crash-model' }, concurrency: 1, requestTimeoutMs: 5_000,
  });

  const runChild = () =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', join(__dirname, '..', '..', 'gpu', 'test', 'support', 'register-ts.js'), join(__dirname, 'support', 'run-child.ts')], {
        env: { ...process.env, DATABASE_URL: database.url, EVAL_TEST_INPUT: JSON.stringify(input()) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      current = child;
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  it('resumes the run and asks every item exactly once', async () => {
    const first = await runChild();
    if (first.signal !== 'SIGKILL') throw new Error(`the first run was not killed: ${first.code} ${first.stderr}`);
    const afterKill = await new EvaluationRunStore(database.db).items(input().runId);
    expect(afterKill).toHaveLength(15);
    expect(kills).toHaveLength(1);

    const second = await runChild();
    expect(second.code).toBe(0);
    const result = JSON.parse(second.stdout) as BenchmarkRunResult;
    expect(result.items).toBe(40);
    expect(result.errors).toBe(0);

    // On the wire: 41 questions, every item answered exactly once, only the one cut by the kill asked twice.
    expect([...server.arrived.values()].reduce((a, b) => a + b, 0)).toBe(41);
    expect([...server.arrived].filter(([, n]) => n > 1)).toEqual([[kills[0], 2]]);
    expect(server.answered.size).toBe(40);
    expect([...server.answered.values()]).toEqual(Array(40).fill(1));
    expect(afterKill.map((i) => i.itemId)).not.toContain(kills[0]);
    // The stored rows are one per item; the 15 from before the kill were not asked again.
    const stored = await new EvaluationRunStore(database.db).items(input().runId);
    expect(stored).toHaveLength(40);
    expect(stored.every((i) => i.attempts === 1)).toBe(true);
    for (const before of afterKill) expect(server.arrived.get(before.itemId)).toBe(1);
  });
});
