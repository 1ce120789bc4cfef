/** Issue 15, item 2: the auditor re-derives peer review's assignment and its consequences, and notices a changed or missing one. */
import { defaultPolicyDocument, parsePolicy, type CycleCommand, type CycleEvent } from '@concentra/domain';
import { addDays } from '@concentra/domain';
import { Scenario, T0, applicantOf, company, openCallCommand, reviewAll } from '../../domain/src/cycle/testing';
import { rederive, type DecisionSource } from './rederive';
import { timeline } from './timeline';

const cycleId = 'cycle:select-and-concentrate:2027';
const asStored = (events: CycleEvent[]): DecisionSource[] =>
  events.map((e, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: T0 }));
const copyOf = (events: DecisionSource[]) => JSON.parse(JSON.stringify(events)) as DecisionSource[];

/** Six applications with peer review (two each, a penalty of 15 points for missing them); a2 and a5 review nothing. */
function peerYear(): CycleEvent[] {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  const policy = parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, peerReview: { perApplicant: 2, weight: 0.5, onMissedReviews: { penalty: 15 } } }, ...rest] });
  const sc = new Scenario();
  sc.run(openCallCommand(policy));
  for (let i = 1; i <= 6; i++) {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run({ type: 'SubmitApplication', actor: applicantOf(`org-a${i}`), data: { applicationId: `a${i}`, title: `Proposal a${i}`, lead: company(`org-a${i}`), members: [] } });
  }
  sc.fire('call_close');
  reviewAll(sc);
  for (const { applicationId: by, reviews } of sc.last('PeerReviewersAssigned').data.assignments) {
    if (by === 'a2' || by === 'a5') continue;
    for (const of of reviews) {
      const command: CycleCommand = {
        type: 'SubmitReview',
        actor: applicantOf(`org-${by}`),
        data: { reviewId: `peer-${by}-${of}`, applicationId: of, scores: { technical: 8, team: 8, impact: 8 }, conflictOfInterest: { declared: false } },
      };
      sc.run(command);
    }
  }
  sc.fire('review_due');
  return sc.events;
}

describe('rederive: distributed peer review', () => {
  const events = asStored(peerYear());

  it('re-derives the assignment, each consequence and the round they shaped', () => {
    const report = rederive(events);
    expect(report.decisions.map((d) => [d.decisionKey, d.kind, d.ok])).toEqual([
      ['review:1:peer-assignment', 'peer_assignment', true],
      ['review:1:peer-reviews-missed:a2', 'peer_reviews_missed', true],
      ['review:1:peer-reviews-missed:a5', 'peer_reviews_missed', true],
      ['review:1', 'review_round', true],
    ]);
  });

  it('notices an assignment changed after the fact', () => {
    const changed = copyOf(events);
    const assigned = changed.find((e) => e.type === 'PeerReviewersAssigned')!.data as { assignments: Array<{ reviews: string[] }> };
    assigned.assignments[0].reviews.reverse();
    const check = rederive(changed).decisions.find((d) => d.kind === 'peer_assignment')!;
    expect(check.ok).toBe(false);
    expect(check.differences.map((d) => d.field)).toEqual(['assignment']);
  });

  it('notices a consequence whose rule was changed, and one left out of the record', () => {
    const softened = copyOf(events);
    const first = softened.find((e) => e.type === 'PeerReviewsMissed')!.data;
    Object.assign(first, { rule: 'none', penalty: null });
    expect(rederive(softened).decisions.filter((d) => !d.ok).map((d) => d.decisionKey)).toContain('review:1:peer-reviews-missed:a2');

    const dropped = copyOf(events).filter((e) => !(e.type === 'PeerReviewsMissed' && e.data.applicationId === 'a5'));
    const round = rederive(dropped).decisions.find((d) => d.kind === 'review_round')!;
    expect(round.ok).toBe(false);
    expect(round.differences).toContainEqual({ field: 'peerReviewsMissed', recorded: [], rederived: ['a5'] });
  });

  it('reads each consequence as the rule that produced it, answerable by the policy', () => {
    const stored = events.map((e) => ({ ...e, globalPosition: e.streamPosition, metadata: { actor: { role: 'system', subject: 'workflow' }, causationId: 'DeadlinePassed' } }));
    const lines = timeline(stored as never).filter((e) => e.type === 'PeerReviewsMissed');
    expect(lines.map((l) => l.who)).toEqual(['policy', 'policy']);
    expect(lines[0].summary).toMatch(/^"a2" submitted 0 of its 2 assigned peer review\(s\) by the deadline \(missing .+\); 15 point\(s\) were taken off its total by the policy's peer-review rule \(onMissedReviews: penalty 15\)$/);
  });
});
