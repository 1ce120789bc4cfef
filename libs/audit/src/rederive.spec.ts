import { defaultPolicy, defaultPolicyDocument, parsePolicy, type CycleEvent } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';
// The domain's own scenario driver (test-only): it plays a cycle the way the workflow does.
import { applicantOf, applicationCommand, company, endGrants, evaluateAll, openWithApplicants, pm, reviewAll, startGrants, type Scenario } from '../../domain/src/cycle/testing';
import { grantsToRelease, grantsToStart } from '../../domain/src/cycle/obligations';
import { rederive, formatRederivation, type DecisionSource } from './rederive';

const cycleId = 'cycle:select-and-concentrate:2027';

function asStored(events: CycleEvent[], at: (i: number) => string = () => '2027-01-04T09:00:00.000Z'): DecisionSource[] {
  return events.map((e, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: at(i) }));
}

/** The default policy's year up to the finalists' extension: selection of 5 of 8, narrowing to 2. */
function fullYear(sc: Scenario = openWithApplicants(defaultPolicy, 8)): CycleEvent[] {
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  sc.afterDays(2);
  sc.run({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
  startGrants(sc, grantsToStart(sc.state));
  sc.fire('grant_period_end');
  evaluateAll(sc);
  sc.fire('evaluation_submission_due');
  sc.fire('evaluation_scoring_due');
  sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
  for (const id of ['a3', 'a4', 'a5']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
  endGrants(sc, grantsToRelease(sc.state));
  return sc.events;
}

/** A deep copy with one event's data changed by hand. */
function altered(events: DecisionSource[], pick: (e: DecisionSource) => boolean, change: (data: Record<string, unknown>) => void): DecisionSource[] {
  const copy = JSON.parse(JSON.stringify(events)) as DecisionSource[];
  const target = copy.find(pick);
  if (!target) throw new Error('no event to alter');
  change(target.data);
  return copy;
}

describe('rederive: every decision recomputed with libs/domain from the inputs the events record', () => {
  const events = asStored(fullYear());

  it('a full year re-derives exactly as recorded: review round, selection, narrowing', () => {
    const report = rederive(events);
    expect(report.decisions.map((d) => [d.decisionKey, d.type, d.ok])).toEqual([
      ['review:1', 'ReviewRoundClosed', true],
      ['selection', 'AwardeesSelected', true],
      ['narrowing:1', 'TeamsNarrowed', true],
    ]);
    expect(report.ok).toBe(true);
    expect(formatRederivation(report).every((line) => line.startsWith('ok'))).toBe(true);
  });

  it('a hand-altered review score makes it report exactly the selection, and say what moved', () => {
    // Reviewer 1 now gives a6 full marks: a6 climbs above a5, so the recorded selection no longer follows.
    const tampered = altered(events, (e) => e.type === 'ReviewSubmitted' && (e.data as { reviewId: string }).reviewId === 'rev-review:1-a6-1', (d) => {
      d.scores = { technical: 10, team: 10, impact: 10 };
    });
    const report = rederive(tampered);
    expect(report.ok).toBe(false);
    const differing = report.decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual(['selection']);
    const fields = differing[0].differences.map((x) => x.field);
    expect(fields).toEqual(expect.arrayContaining(['ranking.order', 'ranking[a6].total', 'inputsHash']));
    expect(formatRederivation(report).find((l) => l.startsWith('DIFFERS'))).toContain('selection');
  });

  it('a hand-altered evaluation score makes it report exactly the narrowing', () => {
    const tampered = altered(events, (e) => e.type === 'EvaluationScoresSubmitted' && (e.data as { scoreSetId: string }).scoreSetId === 'eval-evaluation:1-a3-1', (d) => {
      d.scores = { benchmarks: 100, experts: 10, users: 10 };
    });
    const differing = rederive(tampered).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual(['narrowing:1']);
    expect(differing[0].differences.map((x) => x.field)).toEqual(expect.arrayContaining(['ranking[a3].total', 'inputsHash']));
  });

  it('a recorded outcome that does not follow its ranking is reported (awardees changed without an override)', () => {
    const tampered = altered(events, (e) => e.type === 'AwardeesSelected', (d) => {
      d.awardees = ['a1', 'a2', 'a3', 'a4', 'a6'];
      d.notSelected = ['a5', 'a7', 'a8'];
    });
    const differing = rederive(tampered).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => [d.decisionKey, d.differences.map((x) => x.field)])).toEqual([['selection', ['awardees']]]);
  });

  it('an altered gate verdict is reported on the decision it removed a team from', () => {
    const tampered = altered(events, (e) => e.type === 'EvaluationScoresSubmitted' && (e.data as { scoreSetId: string }).scoreSetId === 'eval-evaluation:1-a1-2', (d) => {
      d.verdicts = { safety: 'fail' };
    });
    const differing = rederive(tampered).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual(['narrowing:1']);
    expect(differing[0].differences.map((x) => x.field)).toEqual(expect.arrayContaining(['ranking.order', 'removedByGate']));
  });

  it('a tie broken by the earliest submission: moving a submission time changes the tie-break and is reported', () => {
    // Everyone scores alike: the policy's tie-break (technical, then earliest submission) orders them.
    const sc = openWithApplicants(defaultPolicy, 6);
    sc.fire('call_close');
    reviewAll(sc, () => ({ technical: 7, team: 7, impact: 7 }));
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    const tie = asStored(sc.events);
    const clean = rederive(tie);
    expect(clean.ok).toBe(true);
    const selected = sc.last('AwardeesSelected').data;
    expect(selected.awardees).toEqual(['a1', 'a2', 'a3', 'a4', 'a5']);
    expect(selected.tieBrokenBy[selected.ranking[0]]).toBe('earliest_submission');

    const moved = altered(tie, (e) => e.type === 'ApplicationSubmitted' && (e.data as { applicationId: string }).applicationId === 'a6', (d) => {
      d.submittedAt = '2027-01-04T09:00:00.000Z';
    });
    const differing = rederive(moved).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual(['selection']);
    expect(differing[0].differences.map((x) => x.field)).toEqual(expect.arrayContaining(['ranking.order', 'awardees']));
  });

  it('a tie settled by the seeded lottery re-derives, and a changed seed is reported', () => {
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      scoring: { ...defaultPolicyDocument.scoring, proposal: { ...defaultPolicyDocument.scoring.proposal, tieBreak: [] } },
    });
    const sc = openWithApplicants(policy, 6);
    sc.fire('call_close');
    reviewAll(sc, () => ({ technical: 7, team: 7, impact: 7 }));
    sc.fire('review_due');
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    const drawn = asStored(sc.events);
    expect(sc.last('AwardeesSelected').data.lottery).not.toBeNull();
    expect(rederive(drawn).ok).toBe(true);
    const reseeded = altered(drawn, (e) => e.type === 'CallOpened', (d) => {
      d.lotterySeed = 'a-seed-picked-afterwards';
    });
    const differing = rederive(reseeded).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual(['selection']);
    expect(differing[0].differences.map((x) => x.field)).toContain('lottery');
  });

  describe('a refill call (and an overridden narrowing before it)', () => {
    const [call, review, , grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;
    const refillPolicy = parsePolicy({
      ...defaultPolicyDocument,
      stages: [
        call,
        review,
        defaultPolicyDocument.stages[2],
        grant,
        { ...evaluation, name: 'First evaluation', narrowing: { ...evaluation.narrowing, keep: 3 } },
        { kind: 'refill', name: 'Refill', fillUpTo: 3, openFor: 'P14D', reviewFor: 'P14D', scoring: 'proposal', approvalDue: 'P7D', onApprovalTimeout: 'apply_ranking', openTo: { newcomers: true, eliminatedTeams: true }, shiftLaterStagesBy: 'P30D' },
        { ...evaluation, name: 'Second evaluation' },
        extension,
        procurement,
      ],
    });

    function refillYear(): DecisionSource[] {
      const sc = openWithApplicants(refillPolicy, 8);
      sc.fire('call_close');
      reviewAll(sc);
      sc.fire('review_due');
      sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
      startGrants(sc, grantsToStart(sc.state));
      sc.fire('grant_period_end');
      evaluateAll(sc);
      sc.fire('evaluation_submission_due');
      sc.fire('evaluation_scoring_due');
      sc.run({ type: 'OverrideNarrowing', actor: pm, data: { round: 1, keepCount: 2, rationale: 'a3 is not ready' } });
      for (const id of ['a3', 'a4', 'a5']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
      sc.run(applicationCommand('n1'));
      sc.run({ type: 'SubmitApplication', actor: applicantOf('org-a4'), data: { applicationId: 'a4-refill', title: 'Second try', lead: company('org-a4'), members: [] } });
      sc.fire('refill_close');
      reviewAll(sc, (id) => (id === 'n1' ? { technical: 9, team: 8, impact: 8 } : { technical: 6, team: 6, impact: 6 }));
      sc.fire('refill_review_due');
      sc.run({ type: 'SelectRefillEntrants', actor: pm, data: { applicationIds: ['n1'] } });
      return asStored(sc.events);
    }

    it('re-derives the override (with its rationale) and the refill selection', () => {
      const report = rederive(refillYear());
      expect(report.decisions.map((d) => [d.decisionKey, d.ok])).toEqual([
        ['review:1', true],
        ['selection', true],
        ['narrowing:1', true],
        ['refill:5', true],
      ]);
    });

    it('a refill review score changed by hand is reported on the refill decision only', () => {
      const tampered = altered(refillYear(), (e) => e.type === 'ReviewSubmitted' && (e.data as { reviewId: string }).reviewId.startsWith('rev-refill:5-a4-refill-1'), (d) => {
        d.scores = { technical: 10, team: 10, impact: 10 };
      });
      const report = rederive(tampered);
      const differing = report.decisions.filter((d) => !d.ok);
      expect(differing.map((d) => d.decisionKey)).toEqual(['refill:5']);
      expect(differing[0].differences.map((x) => x.field)).toEqual(expect.arrayContaining(['ranking[a4-refill].total', 'inputsHash']));
    });
  });

  it('a cycle written before the engine (no policy, no seed in CallOpened) is noted, not failed', () => {
    const skeleton: Partial<StoredEvent>[] = [
      { streamId: 'cycle:old:2026', streamPosition: 1, eventId: 'cycle:old:2026#1', type: 'CallOpened', data: { program: 'old', year: 2026, stage: 'call' }, occurredAt: '2026-01-01T00:00:00.000Z' },
    ];
    const report = rederive(skeleton as DecisionSource[]);
    expect(report).toMatchObject({ ok: true, decisions: [] });
    expect(report.notes[0]).toContain('cycle:old:2026');
  });
});
