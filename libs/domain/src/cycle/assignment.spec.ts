import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { addDays } from '../shared/time';
import type { CycleCommand, Organisation, PanelMember } from './commands';
import { assignedTo as assignedIn } from './assignment';
import { owed } from './obligations';
import { Scenario, T0, applicantOf, company, pm, reviewer, types } from './testing';

/** Reviewers reviewer-1..N of organisations review-org-1..N, with one of five expertise tags each. */
const pool = (n: number): PanelMember[] => Array.from({ length: n }, (_, i) => ({ subject: `reviewer-${i + 1}`, organisationId: `review-org-${i + 1}`, expertise: [`topic-${i % 5}`] }));
const uni = (n: number): Organisation => ({ organisationId: `review-org-${n}`, name: `University ${n}`, type: 'university' });

function policyWith(assignment: Record<string, unknown>) {
  const [call, review, ...rest] = defaultPolicyDocument.stages;
  return parsePolicy({ ...defaultPolicyDocument, stages: [call, { ...review, assignment }, ...rest] });
}

/** Opens a call on `policy` with the given pool and submits applications a1..aN with their consortia and topics. */
function callWith(policy: ReturnType<typeof policyWith>, reviewers: PanelMember[], consortia: Organisation[][]): Scenario {
  const sc = new Scenario();
  sc.run({ type: 'OpenCall', actor: pm, data: { programSlug: policy.program, year: 2027, policy, lotterySeed: 'published-seed-2027', panel: { reviewers, evaluators: [] } } });
  consortia.forEach((members, i) => {
    const id = `a${i + 1}`;
    sc.at(addDays(T0, 1 + i * 0.001));
    sc.run({ type: 'SubmitApplication', actor: applicantOf(`org-${id}`), data: { applicationId: id, title: `Proposal ${id}`, lead: company(`org-${id}`), members, topics: [`topic-${i % 5}`] } });
  });
  return sc;
}

const assignedTo = (sc: Scenario) => new Map(sc.last('ReviewersAssigned').data.assignments.map((a) => [a.applicationId, a.reviewers]));

describe('reviewer assignment', () => {
  it('given 200 applications whose consortia hold reviewers\' universities, when the call closes, then each gets 3 unconflicted reviewers and nobody more than 15', () => {
    const reviewers = pool(45);
    // Every consortium has two of the pool's universities (conflicts from consortia), and one collaboration is on record.
    const consortia = Array.from({ length: 200 }, (_, i) => [uni((i % 45) + 1), uni(((i % 45) + 1 + (i % 43)) % 45 + 1)]);
    const policy = policyWith({ reviewersPerApplication: 3, maxPerReviewer: 15, recentCollaborations: [{ organisations: ['org-a10', 'review-org-30'] }] });
    const sc = callWith(policy, reviewers, consortia);
    sc.run({ type: 'DeclareConflictOfInterest', actor: reviewer(2), data: { applicationId: 'a5', reason: 'my former student leads it' } });
    expect(types(sc.fire('call_close'))).toEqual(['CallClosed', 'ReviewRoundOpened', 'ReviewersAssigned']);

    const assigned = assignedTo(sc);
    const orgOf = new Map(reviewers.map((r) => [r.subject, r.organisationId]));
    const loads = new Map<string, number>();
    consortia.forEach((members, i) => {
      const id = `a${i + 1}`;
      const these = assigned.get(id)!;
      expect(new Set(these).size).toBe(3);
      const conflicted = new Set([`org-${id}`, ...members.map((m) => m.organisationId)]);
      for (const r of these) {
        expect(conflicted.has(orgOf.get(r)!)).toBe(false);
        loads.set(r, (loads.get(r) ?? 0) + 1);
      }
    });
    expect(Math.max(...loads.values())).toBeLessThanOrEqual(15);
    expect([...loads.values()].reduce((a, b) => a + b, 0)).toBe(600);
    expect(Object.fromEntries(loads)).toEqual(Object.fromEntries(Object.entries(sc.last('ReviewersAssigned').data.loads).filter(([, n]) => n > 0)));
    // Balanced: 600 reviews over 45 reviewers is 13.3 each; everyone reviews 13 or 14.
    expect(loads.size).toBe(45);
    expect([Math.min(...loads.values()), Math.max(...loads.values())]).toEqual([13, 14]);
    expect(assigned.get('a5')).not.toContain('reviewer-2');
    expect(assigned.get('a10')).not.toContain('reviewer-30');
    expect(sc.last('ReviewersAssigned').data.assignments.find((a) => a.applicationId === 'a10')!.conflicts).toEqual({ consortium_member: ['reviewer-10', 'reviewer-20'], recent_collaboration: ['reviewer-30'] });
    expect(sc.last('ReviewersAssigned').data.assignments.find((a) => a.applicationId === 'a5')!.conflicts).toMatchObject({ declared_conflict: ['reviewer-2'] });
    expect(sc.last('ReviewersAssigned').data.short).toEqual([]);
    // Expertise first: with five tags spread evenly, every application finds experts.
    expect(sc.last('ReviewersAssigned').data.assignments.every((a) => a.reasons.every((r) => r === 'expertise'))).toBe(true);
    // Compact enough that a thousand applications stay within the 256 KB a workflow payload may take.
    expect(JSON.stringify(sc.last('ReviewersAssigned').data).length / 200).toBeLessThan(200);
  });

  describe('in a small call', () => {
    const policy = policyWith({ reviewersPerApplication: 3, maxPerReviewer: 3 });
    const opened = () => {
      const sc = callWith(policy, pool(6), [[uni(1)], [uni(2)], [], []]);
      sc.fire('call_close');
      return sc;
    };
    const review = (n: number, id: string): CycleCommand => ({
      type: 'SubmitReview',
      actor: reviewer(n),
      data: { reviewId: `rev-${id}-${n}`, applicationId: id, scores: { technical: 5, team: 5, impact: 5 }, conflictOfInterest: { declared: false } },
    });
    const number = (subject: string) => Number(subject.replace('reviewer-', ''));

    it('owes (and reminds of) a review only from the assigned reviewers', () => {
      const sc = opened();
      const owedReviews = owed(sc.state).filter((o) => o.what === 'review').map((o) => `${o.applicationId}:${o.who.subject}`).sort();
      expect(owedReviews).toEqual([...assignedTo(sc).entries()].flatMap(([id, rs]) => rs.map((r) => `${id}:${r}`)).sort());
      expect(owedReviews).toHaveLength(12);
    });

    it('lets only assigned reviewers score', () => {
      const sc = opened();
      const a1 = assignedTo(sc).get('a1')!;
      const outsider = pool(6).map((r) => r.subject).find((r) => !a1.includes(r))!;
      expect(sc.refuse(review(number(outsider), 'a1'), 'forbidden').message).toMatch(/not assigned/);
      expect(types(sc.run(review(number(a1[0]), 'a1')))).toEqual(['ReviewSubmitted']);
    });

    it('replaces a reviewer who declines, by the same rule, and records who and why', () => {
      const sc = opened();
      const before = assignedTo(sc).get('a3')!;
      const events = sc.run({ type: 'DeclineReviewAssignment', actor: reviewer(number(before[0])), data: { applicationId: 'a3', reason: 'on leave' } });
      expect(types(events)).toEqual(['ReviewAssignmentDeclined']);
      const declined = sc.last('ReviewAssignmentDeclined').data;
      expect(declined).toMatchObject({ applicationId: 'a3', reviewer: before[0], reason: 'on leave', replacement: { reviewer: expect.any(String) } });
      expect(before).not.toContain(declined.replacement!.reviewer);
      expect(assignedIn(sc.running, sc.running.rounds['review:1'], 'a3')).toEqual([...before.slice(1), declined.replacement!.reviewer]);
      const loads = ['a1', 'a2', 'a3', 'a4'].flatMap((id) => assignedIn(sc.running, sc.running.rounds['review:1'], id)).reduce<Record<string, number>>((m, r) => ({ ...m, [r]: (m[r] ?? 0) + 1 }), {});
      expect(Math.max(...Object.values(loads))).toBeLessThanOrEqual(3);
      sc.refuse(review(number(before[0]), 'a3'), 'forbidden');
      sc.refuse({ type: 'DeclineReviewAssignment', actor: reviewer(number(before[0])), data: { applicationId: 'a3', reason: 'again' } }, 'invalid_state');
    });

    it('replaces an assigned reviewer who declares a conflict', () => {
      const sc = opened();
      const r = assignedTo(sc).get('a4')![1];
      const events = sc.run({ type: 'DeclareConflictOfInterest', actor: reviewer(number(r)), data: { applicationId: 'a4', reason: 'co-author' } });
      expect(types(events)).toEqual(['ConflictOfInterestDeclared', 'ReviewAssignmentDeclined']);
      expect(assignedIn(sc.running, sc.running.rounds['review:1'], 'a4')).not.toContain(r);
      expect(assignedIn(sc.running, sc.running.rounds['review:1'], 'a4')).toHaveLength(3);
    });

    it('escalates when the pool cannot give every application its reviewers', () => {
      const sc = callWith(policyWith({ reviewersPerApplication: 3, maxPerReviewer: 2 }), pool(4), [[], [], []]);
      expect(types(sc.fire('call_close'))).toEqual(['CallClosed', 'ReviewRoundOpened', 'ReviewersAssigned', 'EscalationRaised']);
      const d = sc.last('ReviewersAssigned').data;
      expect(Object.values(d.loads).every((n) => n <= 2)).toBe(true);
      expect(d.short).toEqual([{ applicationId: expect.any(String), have: 2, need: 3 }]);
      expect(sc.last('EscalationRaised').data).toMatchObject({ reason: 'reviewers_short', subject: 'review:1' });
    });

    it('with expertise required, assigns only reviewers whose tags meet the topics', () => {
      const sc = callWith(policyWith({ reviewersPerApplication: 3, maxPerReviewer: 5, expertise: 'require' }), pool(15), [[], [], []]);
      sc.fire('call_close');
      const d = sc.last('ReviewersAssigned').data;
      d.assignments.forEach((a, i) => a.reviewers.forEach((r) => expect((Number(r.replace('reviewer-', '')) - 1) % 5).toBe(i % 5)));
      expect(d.assignments.every((a) => a.reviewers.length === 3 && a.reasons.every((r) => r === 'expertise'))).toBe(true);
    });

    it('refuses a policy that assigns fewer reviewers than the scheme needs scores', () => {
      expect(() => policyWith({ reviewersPerApplication: 2, maxPerReviewer: 5 })).toThrow(/assignment.reviewersPerApplication: fewer than the 3 scores/);
    });

    it('refuses topics that are not tags', () => {
      const sc = callWith(policy, pool(6), []);
      sc.refuse({ type: 'SubmitApplication', actor: applicantOf('org-x'), data: { applicationId: 'x', title: 'X', lead: company('org-x'), members: [], topics: ['Not A Tag'] } }, 'validation_failed');
    });
  });
});
