/** Issue 15's decisions re-derived by the auditor: the funding lottery and the reviewer assignment. */
import { assignedTo, defaultPolicyDocument, parsePolicy, type CycleCommand, type CycleEvent } from '@concentra/domain';
import { addDays } from '@concentra/domain';
import { Scenario, T0, appIds, applicationCommand, openCallCommand, pm, reviewAll, reviewer } from '../../domain/src/cycle/testing';
import { describeEvent } from './event-sentences';
import { rederive, type DecisionSource } from './rederive';

const cycleId = 'cycle:select-and-concentrate:2027';
const asStored = (events: CycleEvent[]): DecisionSource[] =>
  events.map((e, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: T0 }));
const tampered = (events: DecisionSource[], type: string, change: (d: Record<string, unknown>) => void) => {
  const copy = JSON.parse(JSON.stringify(events)) as DecisionSource[];
  change(copy.find((e) => e.type === type)!.data);
  return copy;
};

function tieredYear(): CycleEvent[] {
  const policy = parsePolicy({
    ...defaultPolicyDocument,
    stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'selection' ? { ...s, minAwardees: 2, maxAwardees: 4, fundingTiers: { fundAtOrAbove: 75, rejectBelow: 35 } } : s)),
  });
  const sc = new Scenario();
  sc.run(openCallCommand(policy));
  appIds(10).forEach((id, i) => {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run(applicationCommand(id));
  });
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
  return sc.events;
}

function assignedYear(): CycleEvent[] {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  const policy = parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, assignment: { reviewersPerApplication: 3, maxPerReviewer: 3, recentCollaborations: [{ organisations: ['org-a2', 'review-org-4'] }] } }, ...rest] });
  const reviewers = Array.from({ length: 6 }, (_, i) => ({ subject: `reviewer-${i + 1}`, organisationId: `review-org-${i + 1}`, expertise: [i % 2 ? 'vision' : 'language'] }));
  const sc = new Scenario();
  sc.run({ type: 'OpenCall', actor: pm, data: { programSlug: policy.program, year: 2027, policy, lotterySeed: 'published-seed-2027', panel: { reviewers, evaluators: [] } } });
  appIds(4).forEach((id, i) => {
    sc.at(addDays(T0, 1 + i));
    const cmd = applicationCommand(id, i === 0 ? [{ organisationId: 'review-org-1', name: 'University 1', type: 'university' }] : []) as Extract<CycleCommand, { type: 'SubmitApplication' }>;
    sc.run({ ...cmd, data: { ...cmd.data, topics: [i % 2 ? 'vision' : 'language'] } });
  });
  sc.fire('call_close');
  const first = sc.last('ReviewersAssigned').data.assignments[0].reviewers[0];
  sc.run({ type: 'DeclineReviewAssignment', actor: reviewer(Number(first.replace('reviewer-', ''))), data: { applicationId: 'a1', reason: 'travelling' } });
  for (const id of appIds(4)) {
    for (const name of assignedTo(sc.running, sc.running.rounds['review:1'], id)) {
      sc.run({ type: 'SubmitReview', actor: reviewer(Number(name.replace('reviewer-', ''))), data: { reviewId: `r-${id}-${name}`, applicationId: id, scores: { technical: 6, team: 6, impact: 6 }, conflictOfInterest: { declared: false } } });
    }
  }
  sc.fire('review_due');
  sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
  return sc.events;
}

describe('re-deriving what real programs also decide', () => {
  it('the funding lottery and the selection it made re-derive; a changed draw or a changed award does not', () => {
    const events = asStored(tieredYear());
    const report = rederive(events);
    expect(report.decisions.map((d) => [d.decisionKey, d.kind, d.ok])).toEqual([
      ['review:1', 'review_round', true],
      ['selection:lottery', 'funding_lottery', true],
      ['selection', 'selection', true],
    ]);
    const drawn = events.find((e) => e.type === 'FundingLotteryDrawn')!.data as { drawnFunded: string[]; order: string[] };
    const loser = drawn.order[2];
    const forged = rederive(tampered(events, 'FundingLotteryDrawn', (d) => ((d.drawnFunded as string[])[0] = loser)));
    expect(forged.decisions.find((d) => d.kind === 'funding_lottery')!.ok).toBe(false);
    const swapped = rederive(
      tampered(events, 'AwardeesSelected', (d) => {
        d.awardees = (d.awardees as string[]).map((id) => (id === drawn.drawnFunded[0] ? loser : id));
        d.notSelected = (d.notSelected as string[]).map((id) => (id === loser ? drawn.drawnFunded[0] : id));
      }),
    );
    expect(swapped.decisions.find((d) => d.kind === 'selection')!.differences.map((x) => x.field)).toContain('awardees');
  });

  it('the draw reads as a sentence in the auditors\' timeline', () => {
    const drawn = tieredYear().find((e) => e.type === 'FundingLotteryDrawn')!;
    expect(describeEvent(drawn.type, drawn.data as unknown as Record<string, unknown>)).toMatch(
      /^funding tiers for 4 award\(s\): a1, a2 funded outright \(total at or above 75\); lottery with seed "published-seed-2027:selection:funding" among a3, a4, a5, a6 drew (a\d, ){3}a\d, funding a\d, a\d; not funded: /,
    );
  });

  it('the reviewer assignment re-derives; an assignment changed by hand does not', () => {
    const events = asStored(assignedYear());
    const report = rederive(events);
    expect(report.ok).toBe(true);
    expect(report.decisions.find((d) => d.kind === 'reviewer_assignment')).toMatchObject({ decisionKey: 'review:1:assignment', ok: true });
    const forged = rederive(tampered(events, 'ReviewersAssigned', (d) => ((d.assignments as Array<{ reviewers: string[] }>)[1].reviewers[0] = 'reviewer-1')));
    expect(forged.decisions.find((d) => d.kind === 'reviewer_assignment')!.ok).toBe(false);
    const declined = events.find((e) => e.type === 'ReviewAssignmentDeclined')!;
    expect(describeEvent(declined.type, declined.data)).toMatch(/^reviewer-\d declined to review "a1" \(travelling\); reviewer-\d assigned in their place/);
  });
});
