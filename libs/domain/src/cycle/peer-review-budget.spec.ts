/**
 * The state budget (ARCHITECTURE.md: 256 KB at 1,000 applications) with peer review on: the state
 * then keeps, per application, the earlier applications that share an organisation with it (each
 * pair once; no member lists), each applicant's assignments and a sheet per peer review. 1,000
 * applications of 10 members drawn from 4,000 partner organisations (about 2,300 sharing pairs),
 * three peer reviews each and no panel, played through admit/decide/evolve from the call to the
 * selection: the state and every list of events one command causes stay within the budget.
 */
import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import { addDays } from '../shared/time';
import { admit } from './admit';
import type { CycleCommand, Organisation } from './commands';
import { decide } from './decide';
import type { CycleEvent } from './events';
import { evolve } from './evolve';
import { nextDeadline, owed } from './obligations';
import { initialState, type CycleState, type RunningCycle } from './state';
import { system, T0, pm } from './testing';

const BUDGET = 256 * 1024;
const APPLICATIONS = 1_000;
const MEMBERS = 10;
const size = (x: unknown) => JSON.stringify(x).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

describe('the state budget with peer review at a full-size call', () => {
  it(`stays within ${kb(BUDGET)} with ${APPLICATIONS} applications of ${MEMBERS} members, three peer reviews each`, () => {
    const [call, review, ...rest] = defaultPolicyDocument.stages;
    const policy = parsePolicy({
      ...defaultPolicyDocument,
      stages: [{ ...call, eligibility: { ...call.eligibility, maxMembers: MEMBERS } }, { ...review, peerReview: { perApplicant: 3, weight: 0.5, onMissedReviews: 'reject_own_application' } }, ...rest],
    });
    let state: CycleState = initialState;
    let now = T0;
    let largest = { bytes: 0, command: '' };
    let slowest = { ms: 0, command: '' };
    let peak = 0;
    const run = (command: CycleCommand): CycleEvent[] => {
      const started = performance.now();
      admit(command, state, now);
      const events = decide(command, state, now);
      const ms = performance.now() - started;
      const label = command.type === 'DeadlinePassed' ? `DeadlinePassed(${command.data.deadline})` : command.type;
      if (ms > slowest.ms) slowest = { ms, command: label };
      if (size(events) > largest.bytes) largest = { bytes: size(events), command: label };
      state = events.reduce(evolve, state);
      peak = Math.max(peak, size(state));
      return events;
    };
    const fire = (kind: string) => {
      const next = nextDeadline(state)!;
      expect(next.deadline).toBe(kind);
      now = next.at;
      return run({ type: 'DeadlinePassed', actor: system, data: { deadline: next.deadline, at: next.at } });
    };

    const consortia = new Map<string, string[]>();
    run({ type: 'OpenCall', actor: pm, data: { programSlug: policy.program, year: 2027, policy, lotterySeed: 'published-seed-2027', panel: { reviewers: [], evaluators: [] } } });
    for (let n = 1; n <= APPLICATIONS; n++) {
      now = addDays(T0, 1 + n / 100_000);
      const lead: Organisation = { organisationId: `org-${n}`, name: `Company ${n}`, type: 'company' };
      const members: Organisation[] = Array.from({ length: MEMBERS }, (_, k) => ({ organisationId: `org-${1_001 + ((n * 7 + k * 131) % 4_000)}`, name: 'Partner', type: 'university' }));
      // As the API fills it in from the applications projection: the earlier applications sharing an organisation.
      const orgs = [lead.organisationId, ...members.map((m) => m.organisationId)];
      const sharesOrganisationWith = [...consortia].filter(([, other]) => other.some((o) => orgs.includes(o))).map(([id]) => id);
      consortia.set(`app-${n}`, orgs);
      run({ type: 'SubmitApplication', actor: { role: 'applicant', subject: `user@org-${n}`, organisationId: lead.organisationId }, data: { applicationId: `app-${n}`, title: `Proposal ${n}`, lead, members, sharesOrganisationWith } });
    }
    const pairs = Object.values((state as RunningCycle).applications).reduce((a, app) => a + (app.sharesOrganisationWith?.length ?? 0), 0);
    const [, , assigned] = fire('call_close');
    expect(assigned.type).toBe('PeerReviewersAssigned');
    const s = state as RunningCycle;
    const round = s.rounds[s.currentRound!];
    expect(round.peers!.every((p) => p.length === 3)).toBe(true);
    expect(owed(state).filter((o) => o.what === 'peer_review')).toHaveLength(3 * APPLICATIONS);

    now = addDays(now, 1);
    const reviews = (assigned as Extract<CycleEvent, { type: 'PeerReviewersAssigned' }>).data.assignments;
    for (const { applicationId, reviews: these } of reviews) {
      if (applicationId === 'app-7') continue; // misses its reviews
      const org = s.applications[applicationId].lead;
      for (const of of these) {
        run({ type: 'SubmitReview', actor: { role: 'applicant', subject: `user@${org}`, organisationId: org }, data: { reviewId: `peer-${applicationId}-${of}`, applicationId: of, scores: { technical: 5, team: 5, impact: 5 }, conflictOfInterest: { declared: false } } });
      }
    }
    // Three applications are short of the scheme's three scores without app-7's reviews: the round is extended once (policy), then closes.
    expect(fire('review_due').map((e) => e.type)).toEqual(['ReviewDeadlineExtended', 'EscalationRaised']);
    const closed = fire('review_due');
    expect(closed.filter((e) => e.type === 'PeerReviewsMissed').map((e) => (e.data as { applicationId: string }).applicationId)).toEqual(['app-7']);
    console.log(
      `peer review at ${APPLICATIONS} applications (${MEMBERS} members from 4,000 partners: ${pairs} pairs sharing one, 3 peer reviews each): largest state ${kb(peak)}, largest event list ${kb(largest.bytes)} (${largest.command}), ` +
        `slowest command ${slowest.ms.toFixed(0)} ms (${slowest.command}); budget ${kb(BUDGET)}`,
    );
    expect(peak).toBeLessThanOrEqual(BUDGET);
    expect(largest.bytes).toBeLessThanOrEqual(BUDGET);
  });
});
