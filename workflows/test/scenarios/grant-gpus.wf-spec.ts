/**
 * GPU amounts by rule, applied to the pool for real: a program manager's amount for a running
 * grant becomes its limit (`#gpus-<n>`), finalists extended with `gpusPerFinalist` get that limit
 * with the extension (`#extend-<n>`, window and limit together), and a grant the pool refuses is
 * escalated, owed, and served on a retry (`#provision-<n>`) once another grant frees capacity.
 */
import { defaultPolicyDocument, parsePolicy, type ProgramPolicy } from '@concentra/domain';
import { CycleHarness, useCycleHarness } from '../cycle-harness';
import { PANEL, applyAll, cancelAndDrain, evaluateAll, expectAllReleased, reviewAll, toGrants, waive } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, pm } from '../../../libs/domain/src/cycle/testing';
import type { CycleRun } from '../cycle-harness';

const [call, review, selection, grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;

const finalistPolicy: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  stages: [call, review, selection, grant, evaluation, { ...extension, gpusPerFinalist: [{ type: 'H100', count: 1024 }] }, procurement],
});

const retryPolicy: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  stages: [call, review, { ...selection, minAwardees: 3, maxAwardees: 3 }, { ...grant, onRefusal: 'retry_until P30D' }, evaluation, extension, procurement],
});

/** Polls the ledger until each listed grant holds the given count (bounded). */
async function untilServed(harness: CycleHarness, run: CycleRun, want: Record<string, number>) {
  let seen: Record<string, number | undefined> = {};
  return harness.poll(
    `served counts ${JSON.stringify(want)}`,
    async () => {
      const live = await run.liveAllocations();
      seen = Object.fromEntries(live.map((a) => [a.grantId.split(':').at(-1)!, a.served?.count]));
      return Object.entries(want).every(([team, count]) => seen[team] === count) ? live : undefined;
    },
    async () => seen,
  );
}

describe('GPU amounts applied to the pool', () => {
  const harness = useCycleHarness();

  it("applies a program manager's amount to a running grant, and gpusPerFinalist with the extension", async () => {
    const run = await harness.start(finalistPolicy, { panel: PANEL });
    const awardees = await toGrants(run, 3);
    expect(awardees).toEqual(['a1', 'a2', 'a3']);

    const set = await run.send({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a2', gpus: [{ type: 'H100', count: 640 }], rationale: 'larger training run agreed' } });
    expect(set.events).toEqual(['GrantGpusChanged']);
    await untilServed(harness, run, { a1: 512, a2: 640, a3: 512 });
    expect((await run.eventsOf('GrantGpusChanged'))[0].data).toMatchObject({ applicationId: 'a2', cause: 'override', rationale: 'larger training run agreed', by: 'pm-1' });

    expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
    await evaluateAll(run, 1, awardees);
    await run.passDeadline('evaluation_submission_due');
    await run.passDeadline('evaluation_scoring_due');
    await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1, rationale: 'as ranked' } });
    await waive(run, 'a3');
    await run.untilEvents('GrantExtended', 'GrantExtended', 'ExtensionStarted', 'GrantEnded');

    // a1 gets gpusPerFinalist; a2 keeps the program manager's amount, which wins over the rule.
    const extended = await run.eventsOf('GrantExtended');
    expect(extended.map((e) => [e.data.applicationId, e.data.gpus])).toEqual([
      ['a1', [{ type: 'H100', count: 1024 }]],
      ['a2', [{ type: 'H100', count: 640 }]],
    ]);
    const live = await untilServed(harness, run, { a1: 1024, a2: 640 });
    const until = extended[0].data.extendedUntil as string;
    expect(live.find((a) => a.grantId === run.grantId('a1'))!.window.to).toBe(until);
    await run.untilLive(['a1', 'a2']);

    await cancelAndDrain(run);
    await expectAllReleased(run);
    await recordHistoryFixture(run.handle, 'grant-gpus-finalist-and-override');
  });
});

describe('a grant the pool refuses', () => {
  let harness: CycleHarness;
  beforeAll(async () => {
    // One row of 1,024 H100: two grants of 512 fit, the third is refused.
    harness = await CycleHarness.create({
      capacity: [
        { id: 'small-h100', site: 'site-1', cluster: 'cluster-1', provider: 'ledger', gpuType: 'H100', count: 1024, ownership: 'owned', availableFrom: '2000-01-01T00:00:00.000Z', availableUntil: null },
      ],
    });
  });
  afterAll(async () => harness?.close());

  it('is escalated, owed by the pool, and served on a retry once another grant frees capacity', async () => {
    const run = await harness.start(retryPolicy, { panel: PANEL });
    await applyReviewApprove(run);
    await run.untilEvents('GrantGpusWithheld', 'EscalationRaised');
    // The three grants start together (the fan-out) and the ledger serves requests as they come:
    // which awardee finds the pool full is not fixed, so the scenario follows the one that did.
    const [withheld] = await run.eventsOf('GrantGpusWithheld');
    const refused = withheld.data.applicationId as string;
    const [first, second] = ['a1', 'a2', 'a3'].filter((team) => team !== refused);
    await run.untilLive([first, second]);
    expect(withheld.data).toMatchObject({ kind: 'refused', reason: 'insufficient_capacity', rule: 'capacity', retryable: true, retrying: true });
    expect(withheld.data.capacity).toEqual([expect.objectContaining({ capacityId: 'small-h100', count: 1024, held: 1024, free: 0 })]);
    const escalation = (await run.eventsOf('EscalationRaised')).find((e) => e.data.reason === 'gpus_withheld')!;
    expect(escalation.data.details).toContain('small-h100: 0 of 1024 H100 free');
    expect(await run.owed()).toEqual(expect.arrayContaining([expect.objectContaining({ who: { role: 'system', subject: 'gpu-pool' }, what: 'gpu_capacity', applicationId: refused })]));
    // The escalation reaches the program manager's mail (enqueued right after the events are recorded).
    await harness.poll('the escalation in the outbox', async () => {
      const mail = await harness.outbox(run.id, 'escalation');
      return mail.some((m) => m.recipient.role === 'program_manager' && (m.body as { reason?: string }).reason === 'gpus_withheld') || undefined;
    });

    // One served team withdraws: its release frees 512; the cycle tells the refused one, which asks again under a new key and is served.
    await run.send({ type: 'WithdrawApplication', actor: applicantOf(`org-${first}`), data: { applicationId: first } });
    await run.untilEvents('GrantGpusWithheld', 'ApplicationWithdrawn', 'GrantEnded', 'GrantStarted');
    await run.untilLive([second, refused]);
    const retried = (await run.allocations()).filter((a) => a.grantId === run.grantId(refused));
    expect(retried.map((a) => a.status)).toEqual(['refused', 'active']);
    expect((await run.owed()).some((o) => o.applicationId === refused)).toBe(false);

    expect((await run.send({ type: 'CancelCycle', actor: pm, data: { reason: 'scenario over' } })).events).toEqual(['CycleCancelled']);
    expect(await run.result()).toMatchObject({ stage: 'cancelled' });
    expect(await run.liveAllocations()).toEqual([]);
    await recordHistoryFixture(run.handle, 'grant-refused-then-served');
  });
});

async function applyReviewApprove(run: CycleRun): Promise<void> {

  const ids = await applyAll(run, 3);
  await run.passDeadline('call_close');
  await reviewAll(run, ids);
  await run.passDeadline('review_due');
  await run.send({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
}
