/**
 * Given/When/Then support for the cycle decider, and a scenario driver that plays a cycle forward
 * the way the workflow will (decide, append, evolve; sleep to the next deadline). Test-only: not
 * exported from the package.
 */
import { DomainError } from '../shared/errors';
import { addDays } from '../shared/time';
import { defaultPolicy, defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import type { ProgramPolicy } from '../policy/schema';
import type { Actor, CycleCommand, Organisation } from './commands';
import { admit } from './admit';
import { decide } from './decide';
import type { CycleEvent, CycleEventType } from './events';
import { evolve, evolveAll } from './evolve';
import { grantsToRelease, grantsToStart, nextDeadline } from './obligations';
import { initialState, type CycleState, type RunningCycle } from './state';

export const T0 = '2027-01-04T09:00:00.000Z';

export const pm: Actor = { role: 'program_manager', subject: 'pm-1' };
export const system: Actor = { role: 'system', subject: 'workflow' };
export const applicantOf = (org: string): Actor => ({ role: 'applicant', subject: `user@${org}`, organisationId: org });
export const reviewer = (n: number): Actor => ({ role: 'reviewer', subject: `reviewer-${n}`, organisationId: `review-org-${n}` });
export const evaluator = (n: number): Actor => ({ role: 'evaluator', subject: `evaluator-${n}`, organisationId: `eval-org-${n}` });

export const company = (id: string): Organisation => ({ organisationId: id, name: `Org ${id}`, type: 'company' });
export const university = (id: string): Organisation => ({ organisationId: id, name: `University ${id}`, type: 'university' });

export function openCallCommand(policy: ProgramPolicy, panel = { reviewers: [1, 2, 3].map(reviewer), evaluators: [1, 2].map(evaluator) }): CycleCommand {
  return {
    type: 'OpenCall',
    actor: pm,
    data: {
      programSlug: policy.program,
      year: 2027,
      policy,
      lotterySeed: 'published-seed-2027',
      panel: {
        reviewers: panel.reviewers.map((a) => ({ subject: a.subject, organisationId: a.organisationId })),
        evaluators: panel.evaluators.map((a) => ({ subject: a.subject, organisationId: a.organisationId })),
      },
    },
  };
}

export function applicationCommand(id: string, members: Organisation[] = []): CycleCommand {
  return { type: 'SubmitApplication', actor: applicantOf(`org-${id}`), data: { applicationId: id, title: `Proposal ${id}`, lead: company(`org-${id}`), members } };
}

/**
 * The consortium (lead and member organisation ids) of each application, as the events say: what
 * the API fills into SubmitReview / SubmitEvaluationScores from the applications projection.
 */
export function consortiaOf(events: readonly CycleEvent[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const leads = new Map<string, string>();
  for (const e of events) {
    if (e.type === 'ApplicationSubmitted') {
      leads.set(e.data.applicationId, e.data.lead.organisationId);
      out.set(e.data.applicationId, [e.data.lead.organisationId, ...e.data.members.map((m) => m.organisationId)]);
    }
    if (e.type === 'MembershipChanged') out.set(e.data.applicationId, [leads.get(e.data.applicationId) ?? '', ...e.data.members.map((m) => m.organisationId)]);
  }
  return out;
}

/** The command as the API sends it: scores carry the application's consortium, applications the ones sharing an organisation (unless the test set them). */
export function asApiSends(command: CycleCommand, events: readonly CycleEvent[]): CycleCommand {
  if ((command.type === 'SubmitApplication' || command.type === 'ApproveMembershipChange') && command.data && command.data.sharesOrganisationWith === undefined && Array.isArray(command.data.members)) {
    const lead = command.type === 'SubmitApplication' ? command.data.lead?.organisationId : consortiaOf(events).get(command.data.applicationId)?.[0];
    const orgs = new Set([lead, ...command.data.members.map((m) => m.organisationId)]);
    const shares = [...consortiaOf(events)].filter(([id, consortium]) => id !== command.data.applicationId && consortium.some((o) => orgs.has(o))).map(([id]) => id);
    return shares.length > 0 ? ({ ...command, data: { ...command.data, sharesOrganisationWith: shares } } as CycleCommand) : command;
  }
  if ((command.type !== 'SubmitReview' && command.type !== 'SubmitEvaluationScores') || !command.data || command.data.consortium !== undefined) return command;
  const consortium = consortiaOf(events).get(command.data.applicationId);
  return consortium ? ({ ...command, data: { ...command.data, consortium } } as CycleCommand) : command;
}

/** What the workflow does with a person's command: admit (the Update validator, live) then decide (the handler). */
export function admitAndDecide(command: CycleCommand, state: CycleState, now: string): CycleEvent[] {
  admit(command, state, now);
  return decide(command, state, now);
}

/** Emmett-style: given(events).when(command, now).then(...) / .thenThrows(code). Commands go through admit, then decide. */
export function given(...events: CycleEvent[]) {
  const state = evolveAll(events, initialState);
  return {
    state,
    when(command: CycleCommand, now: string) {
      const run = () => admitAndDecide(asApiSends(command, events), state, now);
      return {
        then(check: CycleEvent[] | ((events: CycleEvent[]) => void)) {
          const events = run();
          if (typeof check === 'function') check(events);
          else expect(events).toEqual(check);
          return events;
        },
        thenThrows(code: DomainError['code'], field?: string) {
          let error: unknown;
          try {
            run();
          } catch (e) {
            error = e;
          }
          expect(error).toBeInstanceOf(DomainError);
          expect((error as DomainError).code).toBe(code);
          if (field !== undefined) expect((error as DomainError).field).toBe(field);
        },
      };
    },
  };
}

export const types = (events: CycleEvent[]): CycleEventType[] => events.map((e) => e.type);

/** Plays a cycle forward; every accepted command's events are appended and folded. */
export class Scenario {
  events: CycleEvent[] = [];
  state: CycleState = initialState;
  now: string;

  constructor(start = T0) {
    this.now = start;
  }

  get running(): RunningCycle {
    if (this.state.stage === 'not_started') throw new Error('cycle not opened');
    return this.state;
  }

  at(instant: string): this {
    this.now = instant;
    return this;
  }

  afterDays(days: number): this {
    this.now = addDays(this.now, days);
    return this;
  }

  /** admit (the clock, as an Update validator) then decide, as the workflow does; the API's consortium is filled in. */
  run(command: CycleCommand): CycleEvent[] {
    const events = admitAndDecide(asApiSends(command, this.events), this.state, this.now);
    this.events.push(...events);
    this.state = events.reduce(evolve, this.state);
    return events;
  }

  /** Expect the command to be refused with `code`, and nothing to change. */
  refuse(command: CycleCommand, code: DomainError['code']): DomainError {
    const before = this.state;
    try {
      admitAndDecide(asApiSends(command, this.events), this.state, this.now);
    } catch (e) {
      expect(e).toBeInstanceOf(DomainError);
      expect((e as DomainError).code).toBe(code);
      expect(this.state).toBe(before);
      return e as DomainError;
    }
    throw new Error(`expected ${command.type} to be refused with ${code}`);
  }

  /** Sleeps to the next deadline and reports it passed, as the workflow does (now = the deadline's instant). */
  fire(expected?: string): CycleEvent[] {
    const next = nextDeadline(this.state);
    if (!next) throw new Error('no deadline pending');
    if (expected) expect(next.deadline).toBe(expected);
    this.now = next.at;
    return this.run({ type: 'DeadlinePassed', actor: system, data: { deadline: next.deadline, at: next.at } });
  }

  last<T extends CycleEventType>(type: T): Extract<CycleEvent, { type: T }> {
    const found = [...this.events].reverse().find((e) => e.type === type);
    if (!found) throw new Error(`no ${type} event`);
    return found as Extract<CycleEvent, { type: T }>;
  }
}

export const appIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${i + 1}`);

/** Opens the call and submits applications a1..aN (a1 the strongest by default scores). */
export function openWithApplicants(policy: ProgramPolicy, n: number): Scenario {
  const sc = new Scenario();
  sc.run(openCallCommand(policy));
  appIds(n).forEach((id, i) => {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run(applicationCommand(id));
  });
  return sc;
}

export type ReviewScores = (applicationId: string, reviewerNumber: number) => Record<string, number>;

/** Application aK scores 10-K on every criterion: a strict order a1 > a2 > ... */
export const byRank: ReviewScores = (id) => {
  const v = Math.max(0, 10 - Number(id.slice(1)));
  return { technical: v, team: v, impact: v };
};

export function reviewAll(sc: Scenario, scores: ReviewScores = byRank, reviewers = [1, 2, 3], ids?: string[]): void {
  const round = sc.running.rounds[sc.running.currentRound!];
  for (const id of ids ?? round.candidates) {
    for (const r of reviewers) {
      sc.run({
        type: 'SubmitReview',
        actor: reviewer(r),
        data: { reviewId: `rev-${round.roundKey}-${id}-${r}`, applicationId: id, scores: scores(id, r), conflictOfInterest: { declared: false } },
      });
    }
  }
}

export type EvaluationScores = (applicationId: string, evaluatorNumber: number) => { scores: Record<string, number>; verdicts?: Record<string, 'pass' | 'fail'> };

export const modelByRank: EvaluationScores = (id) => {
  const k = Number(id.slice(1));
  return { scores: { benchmarks: Math.max(0, 100 - 10 * k), experts: Math.max(0, 10 - k), users: Math.max(0, 10 - k) }, verdicts: { safety: 'pass' } };
};

/** Every active team submits a model and both evaluators score it. */
export function evaluateAll(sc: Scenario, scores: EvaluationScores = modelByRank, skip: string[] = []): void {
  const s = sc.running;
  const round = s.rounds[s.currentRound!];
  const teams = round.candidates.filter((id) => s.applications[id].status === 'active' && !skip.includes(id));
  for (const id of teams) {
    sc.run({ type: 'SubmitModel', actor: applicantOf(`org-${id}`), data: { applicationId: id, round: round.round, artifact: { uri: `s3://models/${id}/${round.round}`, sha256: 'a'.repeat(64) } } });
  }
  for (const id of teams) {
    for (const e of [1, 2]) {
      const { scores: values, verdicts } = scores(id, e);
      sc.run({
        type: 'SubmitEvaluationScores',
        actor: evaluator(e),
        data: { scoreSetId: `eval-${round.roundKey}-${id}-${e}`, applicationId: id, round: round.round, scores: values, verdicts, conflictOfInterest: { declared: false } },
      });
    }
  }
}

/** Starts every pending grant, as the grant child workflows report back. */
export function startGrants(sc: Scenario, list: Array<{ applicationId: string; grantId: string }>): void {
  for (const g of list) sc.run({ type: 'RecordGrantStarted', actor: system, data: { applicationId: g.applicationId, grantId: g.grantId, allocationId: `alloc-${g.applicationId}` } });
}

export function endGrants(sc: Scenario, list: Array<{ applicationId: string; grantId: string; reason: string }>): void {
  for (const g of list) sc.run({ type: 'RecordGrantEnded', actor: system, data: { applicationId: g.applicationId, grantId: g.grantId, reason: g.reason, gpuHoursUsed: 1000 } });
}

/** A program manager records team `id`'s public-use contract (the default year's terms). */
export function contractCommand(id: string): CycleCommand {
  return {
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
  };
}

/** How a scenario plays a year: the policy, how many applicants, how evaluators score. */
export interface Year {
  policy?: ProgramPolicy;
  applicants?: number;
  scores?: EvaluationScores;
}

/** Call → reviews → selection approved → every awardee's grant started. */
export function playToGrants({ policy = defaultPolicy, applicants = 8 }: Year = {}): Scenario {
  const sc = openWithApplicants(policy, applicants);
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
  startGrants(sc, grantsToStart(sc.state));
  return sc;
}

/** ... → the grant period has ended: the first evaluation is open. */
export function playToEvaluation(year: Year = {}): Scenario {
  const sc = playToGrants(year);
  sc.fire('grant_period_end');
  return sc;
}

/** ... → every team evaluated and scoring closed: the first narrowing is proposed. */
export function playToNarrowing(year: Year = {}): Scenario {
  const sc = playToEvaluation(year);
  evaluateAll(sc, year.scores);
  sc.fire('evaluation_submission_due');
  sc.fire('evaluation_scoring_due');
  return sc;
}

/** ... → narrowing approved as proposed, the eliminated (a3..a5) waive their objections, their grants end. */
export function playToExtension(year: Year = {}): Scenario {
  const sc = playToNarrowing(year);
  sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
  for (const id of ['a3', 'a4', 'a5']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });
  endGrants(sc, grantsToRelease(sc.state));
  return sc;
}

const [call, review, selection, grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;
/** The default pipeline with a refill call after a first evaluation that keeps three: one seat opens when a narrowing keeps two. */
export const refillPolicy: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  stages: [
    call,
    review,
    selection,
    grant,
    { ...evaluation, name: 'First evaluation', narrowing: { ...evaluation.narrowing, keep: 3 } },
    {
      kind: 'refill',
      name: 'Refill call',
      fillUpTo: 3,
      openFor: 'P14D',
      reviewFor: 'P14D',
      scoring: 'proposal',
      approvalDue: 'P7D',
      onApprovalTimeout: 'apply_ranking',
      openTo: { newcomers: true, eliminatedTeams: true },
      shiftLaterStagesBy: 'P30D',
    },
    { ...evaluation, name: 'Second evaluation' },
    extension,
    procurement,
  ],
});
