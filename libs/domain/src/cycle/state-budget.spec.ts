/**
 * The state budget (ARCHITECTURE.md): the workflow carries the whole CycleState across
 * continue-as-new, so it must stay small at a full-size call. 1,000 applications with
 * 10,000-character summaries and 30 consortium members each, 3 reviews each, played through
 * `admit`/`decide`/`evolve` (never built by hand) from the call to the grants and on to the end:
 * the state stays within 256 KB at every stage, and so does every list of events one command causes.
 */
import { defaultPolicy } from '../policy/defaults';
import { addDays } from '../shared/time';
import { admit } from './admit';
import type { Actor, CycleCommand, Organisation } from './commands';
import { decide } from './decide';
import type { CycleEvent } from './events';
import { evolve } from './evolve';
import { grantsToStart, nextDeadline, owed } from './obligations';
import { initialState, type CycleState, type RunningCycle } from './state';
import { system, T0 } from './testing';

const BUDGET = 256 * 1024;
const APPLICATIONS = 1_000;
const MEMBERS = 30;
const REVIEWS = 3;
const REVIEWERS = 30;

const size = (x: unknown) => JSON.stringify(x).length;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

describe('the state budget at a full-size call', () => {
  const pm: Actor = { role: 'program_manager', subject: 'pm-1' };
  const reviewers: Actor[] = Array.from({ length: REVIEWERS }, (_, i) => ({ role: 'reviewer', subject: `reviewer-${i + 1}`, organisationId: `org-${1_001 + i * 97}` }));
  const evaluators: Actor[] = [1, 2].map((i) => ({ role: 'evaluator', subject: `evaluator-${i}`, organisationId: `eval-org-${i}` }));
  const consortia = new Map<string, string[]>();
  let state: CycleState = initialState;
  let now = T0;
  let largestList = { bytes: 0, command: '' };
  const byStage = new Map<string, number>();

  function run(command: CycleCommand): CycleEvent[] {
    if (command.type === 'SubmitReview' || command.type === 'SubmitEvaluationScores') command.data.consortium = consortia.get(command.data.applicationId);
    admit(command, state, now);
    const events = decide(command, state, now);
    const bytes = size(events);
    if (bytes > largestList.bytes) largestList = { bytes, command: command.type === 'DeadlinePassed' ? `DeadlinePassed(${command.data.deadline})` : command.type };
    state = events.reduce(evolve, state);
    byStage.set(state.stage, Math.max(byStage.get(state.stage) ?? 0, size(state)));
    return events;
  }

  function fire(kind: string): CycleEvent[] {
    const next = nextDeadline(state)!;
    expect(next.deadline).toBe(kind);
    now = next.at;
    return run({ type: 'DeadlinePassed', actor: system, data: { deadline: next.deadline, at: next.at } });
  }

  const running = () => state as RunningCycle;

  it(`stays within ${kb(BUDGET)} from the call to the end of the cycle`, () => {
    run({
      type: 'OpenCall',
      actor: pm,
      data: {
        programSlug: defaultPolicy.program,
        year: 2027,
        policy: defaultPolicy,
        lotterySeed: 'published-seed-2027',
        panel: {
          reviewers: reviewers.map((r) => ({ subject: r.subject, organisationId: r.organisationId })),
          evaluators: evaluators.map((e) => ({ subject: e.subject, organisationId: e.organisationId })),
        },
      },
    });

    const summary = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(200).slice(0, 10_000);
    for (let n = 1; n <= APPLICATIONS; n++) {
      now = addDays(T0, 1 + (n % 20) + n / 100_000);
      const lead: Organisation = { organisationId: `org-${n}`, name: `Company ${n} GmbH`, type: 'company' };
      const members: Organisation[] = Array.from({ length: MEMBERS }, (_, k) => {
        const id = 1_001 + ((n * 7 + k * 131) % 4_000);
        return { organisationId: `org-${id}`, name: `Partner institute ${id}`, type: k % 2 ? 'university' : 'research_institute' };
      });
      consortia.set(`app-${n}`, [lead.organisationId, ...members.map((m) => m.organisationId)]);
      run({
        type: 'SubmitApplication',
        actor: { role: 'applicant', subject: `user@org-${n}`, organisationId: lead.organisationId },
        data: { applicationId: `app-${n}`, title: `Foundation model proposal number ${n}`, summary, lead, members },
      });
    }
    expect(Object.keys(running().applications)).toHaveLength(APPLICATIONS);
    // Named panel members from a consortium organisation are worked out when the application comes in.
    const conflicted = Object.values(running().applications).filter((a) => a.conflicted?.length).length;
    expect(conflicted).toBeGreaterThan(0);

    fire('call_close');
    expect(state.stage).toBe('review');
    now = addDays(now, 1);
    let reviewCount = 0;
    for (let n = 1; n <= APPLICATIONS; n++) {
      const id = `app-${n}`;
      const free = reviewers.filter((r) => !running().applications[id].conflicted?.includes(r.subject) && !consortia.get(id)!.includes(r.organisationId!));
      for (let k = 0; k < REVIEWS; k++) {
        const r = free[(n + k * 7) % free.length];
        const v = (x: number) => (n * 7 + x * 3 + k) % 11;
        run({ type: 'SubmitReview', actor: r, data: { reviewId: `review-${id}-${r.subject}-0123456789abcdef`, applicationId: id, scores: { technical: v(1), team: v(2), impact: v(3) }, conflictOfInterest: { declared: false } } });
        reviewCount++;
      }
    }
    expect(reviewCount).toBe(APPLICATIONS * REVIEWS);
    // Owed is computed from the compact state alone (per panel member, conflicts left out).
    expect(owed(state).filter((o) => o.what === 'review').length).toBeGreaterThan(0);

    fire('review_due');
    expect(state.stage).toBe('selection');
    now = addDays(now, 2);
    run({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
    expect(state.stage).toBe('grant');
    for (const g of grantsToStart(state)) run({ type: 'RecordGrantStarted', actor: system, data: { applicationId: g.applicationId, grantId: g.grantId, allocationId: `alloc-${g.applicationId}` } });

    fire('grant_period_end');
    const round = running().rounds[running().currentRound!];
    const teams = round.candidates;
    for (const id of teams) {
      run({ type: 'SubmitModel', actor: { role: 'applicant', subject: `user@${running().applications[id].lead}`, organisationId: running().applications[id].lead }, data: { applicationId: id, round: 1, artifact: { uri: `s3://models/${id}/1`, sha256: 'a'.repeat(64) } } });
      for (const e of evaluators) {
        run({
          type: 'SubmitEvaluationScores',
          actor: e,
          data: { scoreSetId: `eval-${id}-${e.subject}`, applicationId: id, round: 1, scores: { benchmarks: 80, experts: 7, users: 7 }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } },
        });
      }
    }
    fire('evaluation_submission_due');
    fire('evaluation_scoring_due');
    expect(state.stage).toBe('narrowing');
    run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    fire('objection_window_end');
    expect(state.stage).toBe('extension');
    fire('extension_end');
    expect(state.stage).toBe('procurement');
    fire('procurement_contracts_due');
    fire('release_due');
    expect(state.stage).toBe('closed');

    const report = [...byStage.entries()].map(([stage, bytes]) => `${stage.padEnd(12)} ${kb(bytes)}`).join('\n  ');
    console.log(
      `state budget at ${APPLICATIONS} applications (${MEMBERS} members, 10,000-character summaries, ${REVIEWS} reviews each):\n  largest state per stage:\n  ${report}\n` +
        `  largest event list from one command: ${kb(largestList.bytes)} (${largestList.command})\n  budget: ${kb(BUDGET)}`,
    );
    for (const [stage, bytes] of byStage) expect({ stage, bytes: bytes <= BUDGET }).toEqual({ stage, bytes: true });
    expect(largestList.bytes).toBeLessThanOrEqual(BUDGET);
  });
});
