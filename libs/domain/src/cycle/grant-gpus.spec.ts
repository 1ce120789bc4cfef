import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy } from '../policy/parse';
import type { ProgramPolicy } from '../policy/schema';
import { type DomainError } from '../shared/errors';
import { gpuLimitFor, joinsGrant, refusalRetryFor, scaleGpus } from './grant-gpus';
import { grantsToStart, owed } from './obligations';
import { applicantOf, appIds, company, evaluateAll, pm, reviewAll, Scenario, startGrants, system, T0, types } from './testing';
import { addDays } from '../shared/time';
import type { RunningCycle } from './state';

const [call, review, selection, grant, evaluation, extension, procurement] = defaultPolicyDocument.stages;

/** Applicants may ask up to 768 H100; the evaluation round gives 384 each; finalists get 1,024; refused grants wait 30 days. */
const amountsPolicy: ProgramPolicy = parsePolicy({
  ...defaultPolicyDocument,
  stages: [
    call,
    review,
    selection,
    { ...grant, applicantRequests: { cap: 768 }, onRefusal: 'retry_until P30D' },
    { ...evaluation, gpusPerTeam: [{ type: 'H100', count: 384 }] },
    { ...extension, gpusPerFinalist: [{ type: 'H100', count: 1024 }] },
    procurement,
  ],
});

function open(policy: ProgramPolicy, requests: Record<string, number> = {}): Scenario {
  const sc = new Scenario();
  sc.run({
    type: 'OpenCall',
    actor: pm,
    data: { programSlug: policy.program, year: 2027, policy, lotterySeed: 's', panel: { reviewers: [], evaluators: [] } },
  });
  appIds(5).forEach((id, i) => {
    sc.at(addDays(T0, 1 + i * 0.1));
    sc.run({
      type: 'SubmitApplication',
      actor: applicantOf(`org-${id}`),
      data: { applicationId: id, title: `P ${id}`, lead: company(`org-${id}`), members: [], ...(requests[id] ? { gpusRequested: requests[id] } : {}) },
    });
  });
  sc.fire('call_close');
  reviewAll(sc);
  sc.fire('review_due');
  return sc;
}

const grantOf = (sc: Scenario, id: string) => (sc.state as RunningCycle).grants[id];

describe('GPU amounts by rule', () => {
  it('validates the new policy fields, naming each', () => {
    const bad = {
      ...defaultPolicyDocument,
      stages: [
        call,
        review,
        selection,
        { ...grant, applicantRequests: { cap: 0 }, onRefusal: 'retry_until forever', acceptPartialAtLeast: 2 },
        { ...evaluation, gpusPerTeam: [] },
        { ...extension, gpusPerFinalist: [{ type: 'H100', count: -1 }] },
        procurement,
      ],
    };
    const error = (() => {
      try {
        parsePolicy(bad);
      } catch (e) {
        return e as DomainError;
      }
      throw new Error('expected a refusal');
    })();
    expect(error.issues?.map((i) => i.field)).toEqual(
      expect.arrayContaining(['stages.3.applicantRequests.cap', 'stages.3.onRefusal', 'stages.3.acceptPartialAtLeast', 'stages.4.gpusPerTeam', 'stages.5.gpusPerFinalist.0.count']),
    );
    expect(refusalRetryFor(amountsPolicy)).toBe('P30D');
    expect(refusalRetryFor(parsePolicy(defaultPolicyDocument))).toBeNull();
  });

  it('keeps the hash of a policy without the new fields', () => {
    // No defaults were added: a policy written before them parses to the same document.
    expect(Object.keys((parsePolicy(defaultPolicyDocument).stages[3] as object))).toEqual(['kind', 'name', 'duration', 'gpusPerAwardee']);
  });

  it("gives each awardee min(request, cap), the program manager's amount over any rule, then the round's and the finalists' amounts", () => {
    const sc = open(amountsPolicy, { a1: 1000, a2: 256 });
    // The program manager sets a3's amount before its grant exists.
    sc.run({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a3', gpus: [{ type: 'B200', count: 128 }], rationale: 'needs B200 for its architecture' } });
    const started = sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    const period = started.find((e) => e.type === 'GrantPeriodStarted')!;
    expect(period.data).toMatchObject({
      gpusPerAwardee: [{ type: 'H100', count: 512 }],
      gpusByTeam: { a1: [{ type: 'H100', count: 768 }], a2: [{ type: 'H100', count: 256 }], a3: [{ type: 'B200', count: 128 }] },
    });
    expect(grantsToStart(sc.state).map((g) => [g.applicationId, g.gpus[0].count])).toEqual([
      ['a1', 768],
      ['a2', 256],
      ['a3', 128],
      ['a4', 512],
      ['a5', 512],
    ]);
    startGrants(sc, grantsToStart(sc.state));

    // A running grant's amount changes by the program manager's command, recorded with the rationale.
    const set = sc.run({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a4', gpus: [{ type: 'H100', count: 640 }], rationale: 'late data centre' } });
    expect(set).toEqual([expect.objectContaining({ type: 'GrantGpusChanged', data: expect.objectContaining({ cause: 'override', previous: [{ type: 'H100', count: 512 }], rationale: 'late data centre' }) })]);
    expect(grantOf(sc, 'a4').gpus).toEqual([{ type: 'H100', count: 640 }]);
    sc.refuse({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a4', gpus: [{ type: 'H100', count: 0 }], rationale: 'x' } }, 'validation_failed');
    sc.refuse({ type: 'SetGrantGpus', actor: applicantOf('org-a4'), data: { applicationId: 'a4', gpus: [{ type: 'H100', count: 9 }], rationale: 'x' } }, 'forbidden');
    sc.refuse({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a4', gpus: [{ type: 'H100', count: 640 }], rationale: 'again' } }, 'duplicate');

    // The evaluation round changes the others' amounts; overridden teams keep theirs.
    const round = sc.fire('grant_period_end');
    expect(round.filter((e) => e.type === 'GrantGpusChanged').map((e) => (e.data as { applicationId: string }).applicationId)).toEqual(['a1', 'a2', 'a5']);
    expect(grantOf(sc, 'a1').gpus).toEqual([{ type: 'H100', count: 384 }]);
    expect(grantOf(sc, 'a3').gpus).toEqual([{ type: 'B200', count: 128 }]);

    evaluateAll(sc);
    sc.fire('evaluation_submission_due');
    sc.fire('evaluation_scoring_due');
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    const extended = sc.fire('objection_window_end');
    const finals = extended.filter((e) => e.type === 'GrantExtended').map((e) => e.data as { applicationId: string; gpus: unknown });
    expect(finals).toEqual([
      expect.objectContaining({ applicationId: 'a1', gpus: [{ type: 'H100', count: 1024 }] }),
      expect.objectContaining({ applicationId: 'a2', gpus: [{ type: 'H100', count: 1024 }] }),
    ]);
  });

  it('refuses a GPU request where the policy takes none', () => {
    const sc = new Scenario();
    const policy = parsePolicy(defaultPolicyDocument);
    sc.run({ type: 'OpenCall', actor: pm, data: { programSlug: policy.program, year: 2027, policy, panel: { reviewers: [], evaluators: [] } } });
    sc.at(addDays(T0, 1));
    sc.refuse({ type: 'SubmitApplication', actor: applicantOf('org-a1'), data: { applicationId: 'a1', title: 'x', lead: company('org-a1'), members: [], gpusRequested: 10 } }, 'validation_failed');
  });

  it('escalates a refused grant, lists it under owed (the pool while it retries, else the program manager) until it is served', () => {
    const sc = open(amountsPolicy);
    sc.run({ type: 'ApproveSelection', actor: pm, data: {} });
    const [g1, g2] = grantsToStart(sc.state);
    const refusal = {
      grantId: g1.grantId,
      applicationId: g1.applicationId,
      kind: 'refused' as const,
      reason: 'insufficient_capacity',
      message: 'no site has 512 H100 free',
      rule: 'capacity',
      retryable: true,
      retrying: true,
      policyVersion: 3,
      capacity: [{ capacityId: 'row-1', gpuType: 'H100', count: 1024, held: 1024, free: 0, why: 'full', lessorOrganisationId: null }],
      served: null,
      asked: 512,
    };
    const events = sc.run({ type: 'RecordGpusWithheld', actor: system, data: refusal });
    expect(types(events)).toEqual(['GrantGpusWithheld', 'EscalationRaised']);
    expect(events[1].data).toMatchObject({ reason: 'gpus_withheld', subject: 'a1' });
    expect((events[1].data as { details: string }).details).toContain('row-1: 0 of 1024 H100 free (full)');
    expect(owed(sc.state).filter((o) => o.applicationId === 'a1')).toEqual([
      { who: { role: 'system', subject: 'gpu-pool' }, what: 'gpu_capacity', applicationId: 'a1', dueAt: addDays(sc.now, 30), deadline: null },
    ]);

    // A lessor: not retryable; the program manager owes a decision, and the message names the lessor rule.
    const lessor = sc.run({
      type: 'RecordGpusWithheld',
      actor: system,
      data: { ...refusal, grantId: g2.grantId, applicationId: g2.applicationId, reason: 'lessor_conflict', rule: 'lessors_receive_none', retryable: false, retrying: false, capacity: [] },
    });
    expect((lessor[1].data as { details: string }).details).toContain("Capacity withheld by the pool's lessor rule lessors_receive_none");
    expect(owed(sc.state).find((o) => o.applicationId === 'a2')).toMatchObject({ who: { role: 'program_manager' }, what: 'gpu_decision' });

    // Served on a retry: nothing owed; a new amount from the program manager also settles it.
    startGrants(sc, [g1]);
    expect(owed(sc.state).some((o) => o.applicationId === 'a1')).toBe(false);
    sc.run({ type: 'SetGrantGpus', actor: pm, data: { applicationId: 'a2', gpus: [{ type: 'H100', count: 256 }], rationale: 'lessor: smaller grant on owned capacity' } });
    expect(owed(sc.state).some((o) => o.applicationId === 'a2')).toBe(false);
  });

  it('lets freed GPUs join a running grant only from the capacity it is served from', () => {
    expect(joinsGrant({ capacityId: 'site-a/H100' }, { capacityId: 'site-a/H100', count: 8 })).toBe(true);
    expect(joinsGrant({ capacityId: 'site-a/H100' }, { capacityId: 'site-b/H100', count: 8 })).toBe(false);
    expect(joinsGrant({ capacityId: 'site-a/H100' }, { capacityId: 'site-a/H100', count: 0 })).toBe(false);
  });

  it('converts an amount to the served type', () => {
    expect(gpuLimitFor([{ type: 'B200', count: 256 }, { type: 'H100', count: 512 }], { type: 'H100', rate: 1 })).toBe(512);
    expect(gpuLimitFor([{ type: 'B200', count: 256 }], { type: 'H100', rate: 0.5 })).toBe(512);
    expect(scaleGpus([{ type: 'B200', count: 256 }, { type: 'H100', count: 512 }], 128)).toEqual([
      { type: 'B200', count: 128 },
      { type: 'H100', count: 256 },
    ]);
  });
});
