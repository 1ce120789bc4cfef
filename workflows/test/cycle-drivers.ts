/**
 * People's commands, as scenarios send them: applications, reviews, evaluations, procurement.
 * Application aK is the strongest when K is smallest unless a scenario scores otherwise.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { CycleCommand, DomainErrorCode, Organisation } from '@concentra/domain';
import type { CycleHarness, CycleRun, Panel } from './cycle-harness';
import { applicantOf, contractCommand, evaluator, pm, reviewer } from '../../libs/domain/src/cycle/testing';

export const PANEL: Panel = {
  reviewers: [1, 2, 3].map((n) => ({ subject: reviewer(n).subject, organisationId: reviewer(n).organisationId })),
  evaluators: [1, 2].map((n) => ({ subject: evaluator(n).subject, organisationId: evaluator(n).organisationId })),
};

export const teams = (n: number): string[] => Array.from({ length: n }, (_, i) => `a${i + 1}`);

export function application(id: string, members: Organisation[] = []): CycleCommand {
  return {
    type: 'SubmitApplication',
    actor: applicantOf(`org-${id}`),
    data: { applicationId: id, title: `Proposal ${id}`, lead: { organisationId: `org-${id}`, name: `Org ${id}`, type: 'company' }, members },
  };
}

export async function applyAll(run: CycleRun, n: number | string[]): Promise<string[]> {
  const ids = typeof n === 'number' ? teams(n) : n;
  for (const id of ids) await run.send(application(id));
  return ids;
}

export type ReviewScore = (id: string, reviewerNumber: number) => { technical: number; team: number; impact: number };

/** aK scores 10-K on every criterion: a strict order a1 > a2 > ... */
export const byRank: ReviewScore = (id) => {
  const v = Math.max(0, 10 - Number(id.replace(/\D/g, '') || 5));
  return { technical: v, team: v, impact: v };
};

export async function reviewAll(run: CycleRun, ids: string[], score: ReviewScore = byRank, reviewers = [1, 2, 3], prefix = 'rev'): Promise<void> {
  for (const id of ids) {
    for (const r of reviewers) {
      await run.send({
        type: 'SubmitReview',
        actor: reviewer(r),
        data: { reviewId: `${prefix}-${id}-${r}`, applicationId: id, scores: score(id, r), conflictOfInterest: { declared: false } },
      });
    }
  }
}

export async function evaluateAll(run: CycleRun, round: number, ids: string[], verdict: (id: string, evaluatorNumber: number) => 'pass' | 'fail' = () => 'pass'): Promise<void> {
  for (const id of ids) {
    await run.send({ type: 'SubmitModel', actor: applicantOf(`org-${id}`), data: { applicationId: id, round, artifact: { uri: `s3://models/${id}/${round}`, sha256: 'a'.repeat(64) } } });
  }
  for (const id of ids) {
    const k = Number(id.replace(/\D/g, '') || 5);
    for (const e of [1, 2]) {
      await run.send({
        type: 'SubmitEvaluationScores',
        actor: evaluator(e),
        data: {
          scoreSetId: `eval-${round}-${id}-${e}`,
          applicationId: id,
          round,
          scores: { benchmarks: Math.max(0, 100 - 10 * k), experts: Math.max(0, 10 - k), users: Math.max(0, 10 - k) },
          verdicts: { safety: verdict(id, e) },
          conflictOfInterest: { declared: false },
        },
      });
    }
  }
}

export async function procureAndRelease(run: CycleRun, finalists: string[]): Promise<void> {
  for (const id of finalists) {
    await run.send(contractCommand(id));
    await run.send({
      type: 'RecordReleaseDeclaration',
      actor: applicantOf(`org-${id}`),
      data: { applicationId: id, repository: `https://git.example/${id}/base`, licence: 'Apache-2.0', artifacts: [{ name: 'weights.safetensors', sha256: 'b'.repeat(64) }] },
    });
  }
}

export const waive = (run: CycleRun, id: string) => run.send({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });

/** Call → review → selection approved: the awardees' grants have started and hold GPUs. */
export async function toGrants(run: CycleRun, n: number, score: ReviewScore = byRank): Promise<string[]> {
  const ids = await applyAll(run, n);
  await run.passDeadline('call_close');
  await reviewAll(run, ids, score);
  await run.passDeadline('review_due');
  const approved = await run.send({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
  expect(approved.events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);
  const awardees = (await run.eventsOf('AwardeesSelected'))[0].data.awardees as string[];
  await run.untilEvents(...awardees.map(() => 'GrantStarted' as const));
  await run.untilLive(awardees);
  return awardees;
}

/** ... → the grant period has ended, every team evaluated in round `round`, scoring closed: a narrowing is proposed. */
export async function toNarrowing(run: CycleRun, n: number, verdict?: (id: string, evaluatorNumber: number) => 'pass' | 'fail'): Promise<string[]> {
  const awardees = await toGrants(run, n);
  expect((await run.passDeadline('grant_period_end')).stage).toBe('evaluation');
  await evaluateAll(run, 1, awardees, verdict);
  await run.passDeadline('evaluation_submission_due');
  expect((await run.passDeadline('evaluation_scoring_due')).stage).toBe('narrowing');
  return awardees;
}

/** The command must be refused by the Update's validator with this DomainError code. */
export async function expectRefused(run: CycleRun, command: CycleCommand, code: DomainErrorCode): Promise<void> {
  const error: unknown = await run.send(command).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('DomainError');
  expect((cause as ApplicationFailure).details?.[0]).toMatchObject({ code });
}

/** Ends a scenario that stopped mid-cycle: the program manager cancels, every grant gives its GPUs back, the workflow completes. */
export async function cancelAndDrain(run: CycleRun, reason = 'scenario over'): Promise<void> {
  const result = await run.send({ type: 'CancelCycle', actor: pm, data: { reason } });
  // Reports a grant still owed are recorded first (issue 15, policy grantReports).
  expect(result.events).toEqual([...result.events.slice(0, -1).map(() => 'GrantReportsOutstanding'), 'CycleCancelled']);
  expect(await run.result()).toMatchObject({ stage: 'cancelled', nextCycleId: null });
  await expectAllReleased(run);
}

/** Every allocation the cycle's grants ever held is released, and the cycle recorded each grant's end. */
export async function expectAllReleased(run: CycleRun): Promise<void> {
  expect(await run.liveAllocations()).toEqual([]);
  const allocations = await run.allocations();
  expect(allocations.every((a) => a.status === 'released')).toBe(true);
  const started = (await run.eventsOf('GrantStarted')).map((e) => e.data.applicationId as string).sort();
  const ended = (await run.eventsOf('GrantEnded')).map((e) => e.data.applicationId as string);
  expect(started.filter((id) => !ended.includes(id))).toEqual([]);
  expect(allocations.map((a) => a.grantId).sort()).toEqual(started.map((id) => run.grantId(id)));
}

export type { CycleHarness };
