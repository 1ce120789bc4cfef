import { defaultPolicy } from '@concentra/domain';
import { CycleHarness, type CycleRun } from './cycle-harness';
import { applicantOf, evaluator, pm, reviewer } from '../../libs/domain/src/cycle/testing';

export const PANEL = {
  reviewers: [1, 2, 3].map((n) => ({ subject: reviewer(n).subject, organisationId: reviewer(n).organisationId })),
  evaluators: [1, 2].map((n) => ({ subject: evaluator(n).subject, organisationId: evaluator(n).organisationId })),
};

export async function applyAll(run: CycleRun, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `a${i + 1}`);
  for (const id of ids) {
    await run.send({
      type: 'SubmitApplication',
      actor: applicantOf(`org-${id}`),
      data: { applicationId: id, title: `Proposal ${id}`, lead: { organisationId: `org-${id}`, name: `Org ${id}`, type: 'company' }, members: [] },
    });
  }
  return ids;
}

/** aK scores 10-K on every criterion: a strict order a1 > a2 > ... */
export async function reviewAll(run: CycleRun, ids: string[], score: (id: string) => number = (id) => Math.max(0, 10 - Number(id.slice(1)))): Promise<void> {
  for (const id of ids) {
    for (const r of [1, 2, 3]) {
      const v = score(id);
      await run.send({
        type: 'SubmitReview',
        actor: reviewer(r),
        data: { reviewId: `rev-${id}-${r}`, applicationId: id, scores: { technical: v, team: v, impact: v }, conflictOfInterest: { declared: false } },
      });
    }
  }
}

export async function evaluateAll(run: CycleRun, round: number, ids: string[], verdict: (id: string) => 'pass' | 'fail' = () => 'pass'): Promise<void> {
  for (const id of ids) {
    await run.send({ type: 'SubmitModel', actor: applicantOf(`org-${id}`), data: { applicationId: id, round, artifact: { uri: `s3://models/${id}/${round}`, sha256: 'a'.repeat(64) } } });
  }
  for (const id of ids) {
    const k = Number(id.slice(1));
    for (const e of [1, 2]) {
      await run.send({
        type: 'SubmitEvaluationScores',
        actor: evaluator(e),
        data: {
          scoreSetId: `eval-${round}-${id}-${e}`,
          applicationId: id,
          round,
          scores: { benchmarks: Math.max(0, 100 - 10 * k), experts: Math.max(0, 10 - k), users: Math.max(0, 10 - k) },
          verdicts: { safety: verdict(id) },
          conflictOfInterest: { declared: false },
        },
      });
    }
  }
}

export async function procureAndRelease(run: CycleRun, finalists: string[]): Promise<void> {
  for (const id of finalists) {
    await run.send({
      type: 'RecordProcurementContract',
      actor: pm,
      data: {
        contractId: `c-${id}`,
        applicationId: id,
        agency: 'Ministry of Digital Affairs',
        model: `${id}-public-7b`,
        term: { start: '2028-03-01T00:00:00Z', end: '2030-02-28T00:00:00Z' },
        amount: { value: 12_000_000, currency: 'EUR' },
        budgetLine: 'AI-2028-01',
      },
    });
    await run.send({
      type: 'RecordReleaseDeclaration',
      actor: applicantOf(`org-${id}`),
      data: { applicationId: id, repository: `https://git.example/${id}/base`, licence: 'Apache-2.0', artifacts: [{ name: 'weights.safetensors', sha256: 'b'.repeat(64) }] },
    });
  }
}

describe('the default policy year on the time-skipping test server', () => {
  let harness: CycleHarness;
  beforeAll(async () => {
    harness = await CycleHarness.create();
  });
  afterAll(async () => harness?.close());

  it('runs 8 applicants → 5 selected → 2 finalists → procurement → closed, giving every GPU back', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    const ids = await applyAll(run, 8);

    expect((await run.passDeadline('call_close')).stage).toBe('review');
    await reviewAll(run, ids);
    expect((await run.passDeadline('review_due')).stage).toBe('selection');

    const approved = await run.send({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
    expect(approved.events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
    await run.untilEvents('GrantStarted', 'GrantStarted', 'GrantStarted', 'GrantStarted', 'GrantStarted');
    expect(await harness.gpu.liveAllocations()).toHaveLength(5);

    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
    const awardees = ['a1', 'a2', 'a3', 'a4', 'a5'];
    await evaluateAll(run, 1, awardees);
    await run.passDeadline('evaluation_submission_due');
    expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');

    expect((await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } })).stage).toBe('objection');
    for (const id of ['a3', 'a4', 'a5']) {
      await run.send({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
    }
    await run.untilEvents('ExtensionStarted', 'GrantEnded', 'GrantEnded', 'GrantEnded');
    expect((await harness.gpu.liveAllocations()).map((a) => a.grantId).sort()).toEqual([run.grantId('a1'), run.grantId('a2')]);

    expect((await run.passDeadline('extension_end')).stage).toBe('procurement');
    await procureAndRelease(run, ['a1', 'a2']);
    const outcome = await run.result();
    expect(outcome.stage).toBe('closed');
    expect(outcome.nextCycleId).toBe(`cycle:${run.program}:2028`);

    const types = await run.types();
    expect(types.filter((t) => t === 'GrantStarted')).toHaveLength(5);
    expect(types.filter((t) => t === 'GrantEnded')).toHaveLength(5);
    expect(types.at(-1)).toBe('CycleClosed');
    expect(await harness.gpu.liveAllocations()).toEqual([]);
    const selected = (await run.events()).find((e) => e.type === 'AwardeesSelected')!;
    expect(selected.data).toMatchObject({ awardees: awardees, notSelected: ['a6', 'a7', 'a8'] });
    expect(selected.metadata).toMatchObject({ actor: { subject: 'pm-1' }, causationId: 'ApproveSelection', stage: 'selection' });
  });
});
