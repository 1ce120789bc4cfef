/** Issue 15, item 2: the auditor re-derives each declined peer review's reassignment, notices a changed one, and reads it as a sentence. */
import { defaultPolicyDocument, parsePolicy, peerAssignments, type CycleCommand, type CycleEvent } from '@concentra/domain';
import { addDays } from '@concentra/domain';
import { Scenario, T0, applicantOf, company, openCallCommand, reviewAll } from '../../domain/src/cycle/testing';
import { rederive, type DecisionSource } from './rederive';
import { timeline } from './timeline';

const cycleId = 'cycle:select-and-concentrate:2027';
const asStored = (events: CycleEvent[]): DecisionSource[] =>
  events.map((e, i) => ({ streamId: cycleId, streamPosition: i + 1, eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, occurredAt: T0 }));
const copyOf = (events: DecisionSource[]) => JSON.parse(JSON.stringify(events)) as DecisionSource[];

/** Six applications with peer review: a3 declines one of its reviews, a4 declares a conflict with one; then a5 reviews nothing. */
function declinedYear(): CycleEvent[] {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  const policy = parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, peerReview: { perApplicant: 2, weight: 0.5, onMissedReviews: 'reject_own_application' } }, ...rest] });
  const sc = new Scenario();
  sc.run(openCallCommand(policy));
  for (let i = 1; i <= 6; i++) {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run({ type: 'SubmitApplication', actor: applicantOf(`org-a${i}`), data: { applicationId: `a${i}`, title: `Proposal a${i}`, lead: company(`org-a${i}`), members: [] } });
  }
  sc.fire('call_close');
  const reviewsOf = (id: string) => peerAssignments(sc.running.rounds[sc.running.currentRound!], id);
  sc.run({ type: 'DeclineReviewAssignment', actor: applicantOf('org-a3'), data: { applicationId: reviewsOf('a3')[0], reason: 'we co-authored its proposal' } });
  sc.run({ type: 'DeclareConflictOfInterest', actor: applicantOf('org-a4'), data: { applicationId: reviewsOf('a4')[0], reason: 'former employer' } });
  reviewAll(sc);
  for (const by of ['a1', 'a2', 'a3', 'a4', 'a6']) {
    for (const of of reviewsOf(by)) {
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

describe('rederive: declined peer reviews', () => {
  const events = asStored(declinedYear());
  const declines = events.filter((e) => e.type === 'PeerReviewAssignmentDeclined');

  it('re-derives every reassignment, and the consequences that follow the assignments as they stood after them', () => {
    expect(declines).toHaveLength(2);
    const report = rederive(events);
    expect(report.ok).toBe(true);
    expect(report.decisions.map((d) => [d.kind, d.ok])).toEqual([
      ['peer_assignment', true],
      ['peer_decline', true],
      ['peer_decline', true],
      ['peer_reviews_missed', true],
      ['review_round', true],
    ]);
    expect(report.decisions[1].decisionKey).toBe(`review:1:peer-decline:a3:${String(declines[0].data.applicationId)}`);
  });

  it('notices a replacement changed after the fact', () => {
    const changed = copyOf(events);
    const first = changed.find((e) => e.type === 'PeerReviewAssignmentDeclined')!.data as { instead: string | null };
    first.instead = null;
    const check = rederive(changed).decisions.find((d) => d.kind === 'peer_decline')!;
    expect(check.ok).toBe(false);
    expect(check.differences.map((d) => d.field)).toEqual(['reassignment']);
  });

  it("reads a decline as the applicant's act and the reassignment as the policy's rule", () => {
    const stored = events.map((e) => ({ ...e, globalPosition: e.streamPosition, metadata: { actor: applicantOf('org-a3'), causationId: 'DeclineReviewAssignment' } }));
    const [line] = timeline(stored as never).filter((e) => e.type === 'PeerReviewAssignmentDeclined');
    const d = declines[0].data as { applicationId: string; replacement: { reviewer: string; gives: string }; instead: string };
    expect(line.who).toBe('policy');
    expect(line.summary).toBe(
      `user@org-a3 declined for "a3" the peer review of "${d.applicationId}" (we co-authored its proposal); by the policy's peer-review rule "${d.replacement.reviewer}" reviews it in its place, in exchange for "${d.replacement.gives}"; "a3" reviews "${d.instead}" instead`,
    );
  });
});
