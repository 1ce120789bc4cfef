/**
 * An endpoint still being asked when the evaluation round's deadline passes, on the Temporal dev
 * server (real time) with a policy of seconds: the time-skipping server does not move its clock while
 * an activity runs, so a run that outlives the round cannot be shown there. The real cycle workflow
 * and real activities (evaluation against loopback models, PostgreSQL): two fast teams are measured,
 * the third team's model answers one question every few seconds, so its run is mid-way when scoring
 * closes. The round closes on its deadline, the run is cancelled (Temporal records the activity
 * cancelled; the loopback server sees no question after that beyond the ones then in flight), and the
 * team gets the policy's missing-result rule (score_zero: no points on the measured criterion).
 */
import { defaultPolicyDocument, parsePolicy, type ProgramPolicy } from '@concentra/domain';
import { useCycleHarness } from '../../../workflows/test/cycle-harness';
import { cancelAndDrain, PANEL, toGrants } from '../../../workflows/test/cycle-drivers';
import { applicantOf, evaluator } from '../../domain/src/cycle/testing';
import { loadSuite } from '../src';
import { startLoopbackModel, type LoopbackModel } from './support/loopback-model';

const SLOW_MS = 3_000;
const CONCURRENCY = 2;

/** The default programme in seconds: each stage long enough for the test to send its commands. */
const inSeconds: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  repeatEvery: undefined,
  reminders: { before: [] },
  stages: defaultPolicyDocument.stages.map((s) => {
    switch (s.kind) {
      case 'call':
        return { ...s, closing: { deadline: 'PT20S' } };
      case 'review':
        return { ...s, duration: 'PT20S' };
      case 'selection':
        return { ...s, approvalDue: 'PT120S' };
      case 'grant':
        return { ...s, duration: 'PT20S' };
      case 'evaluation':
        return {
          ...s, submissionDue: 'PT20S', scoringDue: 'PT10S', narrowing: { ...s.narrowing, approvalDue: 'PT120S' },
          benchmark: { suite: 'basic-reasoning', criterion: 'benchmarks', reference: { model: 'reference-7b', accuracy: 0.8 }, fullPointsAt: 0.95, missingResult: 'score_zero', provenanceGate: false, concurrency: CONCURRENCY, maxAttempts: 2 },
        };
      default:
        return s;
    }
  }),
});

describe('an evaluation round whose deadline passes while an endpoint is still being asked', () => {
  const harness = useCycleHarness({ evaluation: true, devServer: true });
  const servers: LoopbackModel[] = [];
  const { suite } = loadSuite('basic-reasoning');
  afterAll(async () => Promise.all(servers.map((s) => s.close())));

  it('closes the round on its deadline, cancels the run, and applies the missing-result rule', async () => {
    const fast1 = await startLoopbackModel({ name: 'd1', suite, behaviour: { kind: 'accuracy', p: 0.8 } });
    const fast2 = await startLoopbackModel({ name: 'd2', suite, behaviour: { kind: 'accuracy', p: 0.6 } });
    const slow = await startLoopbackModel({ name: 'd3', suite, behaviour: { kind: 'slow', delayMs: SLOW_MS } });
    servers.push(fast1, fast2, slow);
    const total = () => [...slow.arrived.values()].reduce((a, b) => a + b, 0);

    const run = await harness.start(inSeconds, { panel: PANEL });
    expect(await toGrants(run, 3)).toEqual(['a1', 'a2', 'a3']);
    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
    for (const [team, server] of Object.entries({ a1: fast1, a2: fast2, a3: slow })) {
      await run.send({ type: 'SubmitModel', actor: applicantOf(`org-${team}`), data: { applicationId: team, round: 1, endpoint: { baseUrl: server.baseUrl, model: `${team}-7b` } } });
      for (const e of [1, 2]) {
        await run.send({
          type: 'SubmitEvaluationScores',
          actor: evaluator(e),
          data: { scoreSetId: `eval-${team}-${e}`, applicationId: team, round: 1, scores: { experts: 6, users: 6 }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
        });
      }
    }
    await run.untilEvents('BenchmarkResultRecorded', 'BenchmarkResultRecorded');
    expect((await run.eventsOf('BenchmarkResultRecorded')).map((e) => e.data.applicationId).sort()).toEqual(['a1', 'a2']);

    await run.passDeadline('evaluation_submission_due');
    const scoring = await run.status();
    expect(scoring.nextDeadline?.kind).toBe('evaluation_scoring_due');
    const deadline = Date.parse(scoring.nextDeadline!.at);
    // The slow model is still being asked as scoring closes.
    expect(slow.arrived.size).toBeLessThan(40);
    expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');

    // The round closed on its deadline, ranked without a3's measurement.
    const [proposed] = await run.eventsOf('NarrowingProposed');
    expect(Date.parse(proposed.occurredAt)).toBeGreaterThanOrEqual(deadline);
    expect(slow.arrived.size).toBeLessThan(40);

    // The run was cancelled: Temporal records the cancellation the activity acknowledged.
    const cancelled = await harness.poll('the run activity cancelled', async () => {
      const events = (await run.handle.fetchHistory()).events ?? [];
      return events.some((e) => e.activityTaskCanceledEventAttributes) ? events : undefined;
    });
    expect(cancelled.filter((e) => e.activityTaskCancelRequestedEventAttributes)).toHaveLength(1);
    const arrivedAtCancel = total();
    const [{ stored }] = (await harness.database.db.query(
      `SELECT count(*)::int AS stored FROM evaluation_item_results r JOIN evaluation_runs e USING (run_id) WHERE e.application_id = 'a3'`,
    )) as Array<{ stored: number }>;
    // Asked once per item; the questions not stored are the ones in flight when the cancellation came.
    expect([...slow.arrived.values()].every((n) => n === 1)).toBe(true);
    expect(arrivedAtCancel - stored).toBeGreaterThanOrEqual(0);
    expect(arrivedAtCancel - stored).toBeLessThanOrEqual(CONCURRENCY);
    const [{ finished }] = (await harness.database.db.query(`SELECT count(finished_at)::int AS finished FROM evaluation_runs WHERE application_id = 'a3'`)) as Array<{ finished: number }>;
    expect(finished).toBe(0);
    // The window in which a run still going would have asked at least two more questions (one per
    // SLOW_MS per slot): an absence can only be observed over time. Nothing new arrives.
    const windowEnd = Date.now() + 2 * SLOW_MS;
    await harness.poll('the observation window', async () => (Date.now() >= windowEnd ? true : undefined));
    expect(total()).toBe(arrivedAtCancel);

    // The missing-result rule: a3 is ranked with zero points on the measured criterion (score_zero).
    const measured = Object.fromEntries((await run.eventsOf('BenchmarkResultRecorded')).map((e) => [e.data.applicationId, e.data.points as number]));
    const totals = Object.fromEntries(proposed.data.result.ranking.map((r: { candidateId: string; total: number }) => [r.candidateId, r.total]));
    // benchmarks 40 % (measured points), experts 35 % and users 25 % (6 of 10 from people).
    expect(totals).toEqual({
      a1: Math.round((0.4 * measured.a1 + 0.6 * 60) * 1e6) / 1e6,
      a2: Math.round((0.4 * measured.a2 + 0.6 * 60) * 1e6) / 1e6,
      a3: 36,
    });
    expect((await run.eventsOf('BenchmarkResultRecorded')).map((e) => e.data.applicationId).sort()).toEqual(['a1', 'a2']);
    // The dev server outlives the test: end the cycle rather than leave it waiting for a worker.
    await cancelAndDrain(run);
  });
});
