/**
 * A whole evaluation round the program measures itself, on the time-skipping test server: three
 * teams' models are real chat-completions servers on loopback, run by the evaluation activities
 * (the openai client, per-item results in PostgreSQL); the measured points feed the "benchmarks"
 * criterion while evaluators score the rest; a renamed public model fails the provenance gate; a
 * team whose run never yields a result gets the policy's missingResult rule when the round closes;
 * the narrowing follows, and the auditors' re-derivation from the events agrees.
 */
import { rederive } from '@concentra/audit';
import { defaultPolicyDocument, parsePolicy, sampleItems, type CycleCommand, type ProgramPolicy } from '@concentra/domain';
import { loadSuite } from '@concentra/evaluation';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, toGrants } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, evaluator, pm } from '../../../libs/domain/src/cycle/testing';
import { startLoopbackModel, type LoopbackModel } from '../../../libs/evaluation/test/support/loopback-model';

const measured: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  repeatEvery: undefined,
  stages: defaultPolicyDocument.stages.map((s) =>
    s.kind === 'evaluation'
      ? { ...s, benchmark: { suite: 'basic-reasoning', criterion: 'benchmarks', reference: { model: 'reference-7b', accuracy: 0.8 }, fullPointsAt: 0.95, missingResult: 'score_zero', provenanceGate: true, concurrency: 4, maxAttempts: 2 } }
      : s,
  ),
  scoring: {
    ...defaultPolicyDocument.scoring,
    model: { ...defaultPolicyDocument.scoring.model, gates: [...defaultPolicyDocument.scoring.model.gates, { id: 'originality', name: 'Originality (provenance)', failWhen: 'any_fail' }] },
  },
});

/** The registry's demo stand-in for a public model's weights (libs/evaluation/registry/public-models.json). */
const PUBLIC_WEIGHTS = '331dd352638beb58329dea0a58f270ec88f4e7529ffde0828b423d90e05d51f7';
const own = (team: string) => team.padEnd(64, '0').replace(/[^0-9a-f]/g, '0');

describe('an evaluation round measured by the evaluation service', () => {
  const harness = useCycleHarness({ evaluation: true });
  const servers: LoopbackModel[] = [];
  const { suite } = loadSuite('basic-reasoning');
  afterAll(async () => Promise.all(servers.map((s) => s.close())));

  it('measures, gates on provenance, applies the missing-result rule, narrows, and re-derives', async () => {
    const a1 = await startLoopbackModel({ name: 'a1', suite, behaviour: { kind: 'accuracy', p: 0.8 } });
    const a2 = await startLoopbackModel({ name: 'a2', suite, behaviour: { kind: 'accuracy', p: 0.9 } });
    const a3 = await startLoopbackModel({ name: 'a3', suite, behaviour: { kind: 'accuracy', p: 0.7 } });
    servers.push(a1, a2, a3);

    const run = await harness.start(measured, { panel: PANEL });
    expect(await toGrants(run, 3)).toEqual(['a1', 'a2', 'a3']);
    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');

    const submit = (team: string, server: LoopbackModel, sha: string, credentialRef?: string): CycleCommand => ({
      type: 'SubmitModel',
      actor: applicantOf(`org-${team}`),
      data: { applicationId: team, round: 1, endpoint: { baseUrl: server.baseUrl, model: `${team}-7b`, ...(credentialRef ? { credentialRef } : {}) }, artifacts: [{ name: 'model.safetensors', sha256: sha }] },
    });
    await run.send(submit('a1', a1, own('a1')));
    // a2 submits a public model under its own name: the provenance check finds its checksum.
    await run.send(submit('a2', a2, PUBLIC_WEIGHTS));
    // a3 names a credential the workers do not hold: its run ends without a result.
    await run.send(submit('a3', a3, own('a3'), 'team-a3-key'));
    for (const [team, experts] of [['a1', 7], ['a2', 8], ['a3', 9]] as const) {
      for (const e of [1, 2]) {
        await run.send({
          type: 'SubmitEvaluationScores',
          actor: evaluator(e),
          data: { scoreSetId: `eval-${team}-${e}`, applicationId: team, round: 1, scores: { experts, users: experts }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
        });
      }
    }
    // The runs go on in real time while the test server's clock stands still: wait for both results.
    await run.untilEvents('BenchmarkResultRecorded', 'BenchmarkResultRecorded');
    const results = Object.fromEntries((await run.eventsOf('BenchmarkResultRecorded')).map((e) => [e.data.applicationId, e.data]));
    expect(Object.keys(results).sort()).toEqual(['a1', 'a2']);
    for (const [team, server] of [['a1', a1], ['a2', a2]] as const) {
      const right = sampleItems(suite).filter((i) => server.designedRight(i)).length;
      expect(results[team]).toMatchObject({ suite: 'basic-reasoning', seed: suite.seed, items: 40, correct: right, errors: 0, accuracy: right / 40 });
      expect(results[team].outcomes).toHaveLength(40);
      // Asked once per item over real HTTP.
      expect([...server.arrived.values()]).toEqual(Array(40).fill(1));
    }
    expect(results.a1.provenance).toMatchObject({ verdict: 'pass' });
    expect(results.a2.provenance).toMatchObject({ verdict: 'fail', evidence: [{ artifact: 'model.safetensors', matches: [{ model: 'demo-public/open-7b', file: 'model.safetensors' }] }] });
    // a3's server was never asked: the credential reference resolved to nothing on the worker.
    expect(a3.arrived.size).toBe(0);

    await run.passDeadline('evaluation_submission_due');
    expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');
    const [proposed] = await run.eventsOf('NarrowingProposed');
    const totals = Object.fromEntries(proposed.data.result.ranking.map((r: { candidateId: string; total: number }) => [r.candidateId, r.total]));
    // benchmarks 40 % (measured points), experts 35 % and users 25 % (people); a3 scores zero on benchmarks.
    expect(totals).toEqual({ a1: Math.round((0.4 * results.a1.points + 0.6 * 70) * 1e6) / 1e6, a3: 54 });
    expect(proposed.data.result.removedByGate.map((g: { candidateId: string; failedGates: string[] }) => [g.candidateId, g.failedGates])).toEqual([['a2', ['originality']]]);
    expect(proposed.data.proposed).toEqual(totals.a1 >= totals.a3 ? ['a1', 'a3'] : ['a3', 'a1']);

    expect((await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } })).events).toEqual(['TeamsNarrowed']);
    expect((await run.eventsOf('TeamsNarrowed'))[0].data).toMatchObject({ kept: proposed.data.proposed, dropped: ['a2'] });

    // The auditors' re-derivation from the recorded events: the measurements and the narrowing agree.
    const events = await run.events();
    const report = rederive(events);
    expect(report.decisions.filter((d) => d.kind === 'benchmark').map((d) => [d.decisionKey, d.ok])).toEqual([['evaluation:1/a1', true], ['evaluation:1/a2', true]]);
    expect(report.ok).toBe(true);
    // A tampered measurement is caught.
    const tampered = events.map((e) => (e.type === 'BenchmarkResultRecorded' && (e.data as { applicationId: string }).applicationId === 'a1' ? { ...e, data: { ...e.data, points: 12 } } : e));
    const caught = rederive(tampered).decisions.find((d) => d.decisionKey === 'evaluation:1/a1');
    expect(caught?.differences).toEqual([{ field: 'points', recorded: 12, rederived: results.a1.points }]);
    await recordHistoryFixture(run.handle, 'evaluation-service-round');
  });

  it('records a broken endpoint’s bounded tries and per-item errors, and the round closes on its deadline', async () => {
    const fast = await startLoopbackModel({ name: 'b1', suite, behaviour: { kind: 'accuracy', p: 0.8 } });
    const other = await startLoopbackModel({ name: 'b2', suite, behaviour: { kind: 'accuracy', p: 0.6 } });
    const broken = await startLoopbackModel({ name: 'b3', suite, behaviour: { kind: 'malformed' } });
    servers.push(fast, other, broken);
    const run = await harness.start({ ...measured, stages: measured.stages.map((st) => (st.kind === 'evaluation' && st.benchmark ? { ...st, benchmark: { ...st.benchmark, provenanceGate: false } } : st)) }, { panel: PANEL });
    expect(await toGrants(run, 3)).toEqual(['a1', 'a2', 'a3']);
    await run.passDeadline('grant_period_end');
    const endpoints = { a1: fast, a2: other, a3: broken };
    for (const [team, server] of Object.entries(endpoints)) {
      await run.send({ type: 'SubmitModel', actor: applicantOf(`org-${team}`), data: { applicationId: team, round: 1, endpoint: { baseUrl: server.baseUrl, model: `${team}-7b` } } });
      for (const e of [1, 2]) {
        await run.send({
          type: 'SubmitEvaluationScores',
          actor: evaluator(e),
          data: { scoreSetId: `eval-${team}-${e}`, applicationId: team, round: 1, scores: { experts: 6, users: 6 }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
        });
      }
    }
    await run.untilEvents('BenchmarkResultRecorded', 'BenchmarkResultRecorded', 'BenchmarkResultRecorded');
    const [a3] = (await run.eventsOf('BenchmarkResultRecorded')).filter((e) => e.data.applicationId === 'a3');
    // The policy's maxAttempts (2) per item, each item unanswered with the reason of its last try.
    expect([...broken.arrived.values()]).toEqual(Array(40).fill(2));
    expect(a3.data).toMatchObject({ items: 40, correct: 0, errors: 40, accuracy: 0, points: 0 });
    expect(a3.data.itemErrors).toHaveLength(40);
    for (const e of a3.data.itemErrors as Array<{ error: string }>) expect(e.error).toMatch(/^the answer is not valid JSON: .* \(after 2 of 2 tries\)$/);

    await run.passDeadline('evaluation_submission_due');
    expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');
    const [proposed] = await run.eventsOf('NarrowingProposed');
    expect(proposed.data.proposed).toHaveLength(2);
    expect(proposed.data.proposed).not.toContain('a3');
  });
});
