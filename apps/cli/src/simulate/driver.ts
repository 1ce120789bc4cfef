/**
 * Plays one cycle of a policy to its end on the time-skipping server, as synthetic people would:
 * applicants apply and hand in models (or miss a deadline, as drawn), the panel scores, the program
 * manager approves what the ranking proposes and the finalists sign and release. Between stages
 * the clock is moved to the next deadline once every workflow is at rest, so nothing is skipped
 * past while a grant is still being provisioned.
 */
import { WorkflowUpdateStage, type WorkflowHandle, type WorkflowUpdateHandle } from '@temporalio/client';
import { policyHash, type Actor, type CycleCommand, type ProgramPolicy } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';
import { workflowRest } from '@concentra/temporal';
import { commandUpdates, cycleStatusQuery, cycleWorkflowId, grantWorkflowId, type CycleStatus, type PersonCommand } from '@concentra/workflows/contracts';
import type { SimulationStack } from './stack';
import { population, type Population } from './synthetic';

const POLL_BOUND_MS = 60_000;
const MAX_STEPS = 1_000;
const pm: Actor = { role: 'program_manager', subject: 'pm-simulated' };

export interface SimulationInput {
  policy: ProgramPolicy;
  /** Names the cycle (`cycle:<slug>:<year>`): side by side runs need two. */
  slug: string;
  applications: number;
  seed: string;
  /** GPUs registered per type the policy asks for; default: enough for every awardee. */
  gpus?: number;
}

export interface SimulationRun {
  input: SimulationInput;
  cycleId: string;
  /** The cycle's recorded events, in order. */
  events: StoredEvent[];
  /** GPUs each allocation was served, by allocation id. */
  allocationGpus: Map<string, number>;
  outcome: 'closed' | 'cancelled' | 'stopped';
  wallSeconds: number;
}

export async function simulateCycle(stack: SimulationStack, input: SimulationInput, log: (line: string) => void = () => undefined): Promise<SimulationRun> {
  const started = Date.now();
  // One cycle, no next year: a closing cycle that starts next year's trips the time-skipping server (see workflows/test).
  const policy: ProgramPolicy = { ...input.policy, program: input.slug, repeatEvery: undefined };
  const year = 2027;
  const cycleId = cycleWorkflowId(input.slug, year);
  const people = population(input.seed, input.applications);
  const reviewers = scorers('reviewer', policy, 'review');
  const evaluators = scorers('evaluator', policy, 'evaluation');
  for (const [type, count] of gpuNeeds(policy, input.gpus)) {
    await stack.ledger.registerCapacity(
      { id: `sim-${input.slug}-${type.toLowerCase()}`, site: 'simulated', cluster: 'simulated', provider: 'ledger', gpuType: type, count, ownership: 'owned', availableFrom: '2000-01-01T00:00:00.000Z', availableUntil: null },
      { role: 'system', subject: 'simulate' },
    );
  }
  await stack.env.sleep(Math.max(0, openingDay(await stack.env.currentTimeMs()) - (await stack.env.currentTimeMs())));
  const handle = await stack.env.client.workflow.start('programCycle', {
    workflowId: cycleId,
    taskQueue: stack.taskQueue,
    workflowTaskTimeout: '1 minute',
    args: [
      {
        programSlug: input.slug,
        year,
        policy: policy as unknown as Record<string, unknown>,
        policyHash: policyHash(policy),
        startedBy: pm,
        panel: { reviewers: reviewers.map(({ subject, organisationId }) => ({ subject, organisationId })), evaluators: evaluators.map(({ subject, organisationId }) => ({ subject, organisationId })) },
        lotterySeed: `simulate:${input.seed}`,
        // Monthly metering (as the workflow tests do) and no continue-as-new: a what-if needs neither.
        tuning: { grantMeteringInterval: '30 days', eventsPerRun: 1_000_000 },
      },
    ],
  });
  const cycle = new Cycle(stack, handle, cycleId, input.slug, year);
  const done = new Set<string>();
  let outcome: SimulationRun['outcome'] = 'stopped';
  for (let step = 0; step < MAX_STEPS; step++) {
    await cycle.settled();
    const state = await cycle.state();
    if (state !== 'RUNNING') {
      outcome = state === 'COMPLETED' ? 'closed' : 'cancelled';
      break;
    }
    const status = await handle.query(cycleStatusQuery);
    const events = await stack.store.readStream(cycleId);
    const acted = await act(cycle, policy, people, { reviewers, evaluators }, status, events, done);
    if (acted) {
      log(`${input.slug}: ${acted}`);
      continue;
    }
    if (!status.nextDeadline) {
      // Nothing to do and nothing timed: let the server run the clock to the end.
      await handle.result();
      continue;
    }
    await cycle.passDeadline(status);
  }
  return {
    input,
    cycleId,
    events: await stack.store.readStream(cycleId),
    allocationGpus: new Map(
      ((await stack.db.query(`SELECT id, count FROM gpu_allocations WHERE grant_id LIKE $1`, [`grant:${input.slug}:${year}:%`])) as Array<{ id: string; count: number | null }>).map((r) => [r.id, r.count ?? 0]),
    ),
    outcome,
    wallSeconds: (Date.now() - started) / 1000,
  };
}

/**
 * Every simulated cycle opens on the same calendar day: 4 January, 09:00 UTC, of the next year
 * after a leap year. Stage durations in months then span the same days, whichever run or policy
 * comes first, and the same seed prints the same timeline.
 */
export function openingDay(nowMs: number): number {
  for (let year = new Date(nowMs).getUTCFullYear(); ; year++) {
    const at = Date.UTC(year, 0, 4, 9);
    if (year % 4 === 1 && at > nowMs + 60_000) return at;
  }
}

type Scorer = Actor & { organisationId: string };

function scorers(role: 'reviewer' | 'evaluator', policy: ProgramPolicy, kind: 'review' | 'evaluation'): Scorer[] {
  const needed = Math.max(1, ...policy.stages.filter((s) => s.kind === kind).map((s) => policy.scoring[(s as { scoring: string }).scoring]?.minimumScoresPerApplication ?? 1));
  return Array.from({ length: needed }, (_, i) => ({ role, subject: `${role}-${i + 1}`, organisationId: `${role}-org-${i + 1}` }));
}

/** Enough of each GPU type for every awardee at once, unless a count is given. */
function gpuNeeds(policy: ProgramPolicy, given?: number): Map<string, number> {
  const seats = Math.max(1, ...policy.stages.map((s) => (s.kind === 'selection' ? s.maxAwardees : 0)));
  const out = new Map<string, number>();
  for (const stage of policy.stages) {
    if (stage.kind !== 'grant') continue;
    for (const g of stage.gpusPerAwardee) out.set(g.type, given ?? Math.max(out.get(g.type) ?? 0, g.count * seats * 2));
  }
  return out;
}

const last = <T extends StoredEvent['type']>(events: StoredEvent[], type: T) => events.filter((e) => e.type === type).at(-1) as (StoredEvent & { data: Record<string, any> }) | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any -- event data of many shapes

/** What the people do in this stage, once per round; returns what was done, or null when nothing is theirs to do. */
async function act(
  cycle: Cycle,
  policy: ProgramPolicy,
  people: Population,
  panel: { reviewers: Scorer[]; evaluators: Scorer[] },
  status: CycleStatus,
  events: StoredEvent[],
  done: Set<string>,
): Promise<string | null> {
  /**
   * The people's commands of a stage, once: in phases, each phase's commands independent of each
   * other (sent in order, each accepted before the next is sent, then awaited together: the cycle
   * applies them one at a time in that order), a phase only after the one before it is applied.
   */
  const once = async (key: string, phases: () => CycleCommand[][]): Promise<string | null> => {
    if (done.has(key)) return null;
    done.add(key);
    let count = 0;
    for (const phase of phases()) {
      const accepted: Array<Promise<unknown>> = [];
      for (const c of phase) accepted.push((await cycle.send(c)).result());
      await Promise.all(accepted);
      count += phase.length;
    }
    return `${key} (${count} commands)`;
  };
  const applicant = (id: string): Actor => {
    const a = people.applicants.find((p) => p.applicationId === id)!;
    return { role: 'applicant', subject: `lead@${a.organisationId}`, organisationId: a.organisationId };
  };
  switch (status.stage) {
    case 'call':
      return once('applications', () => [
        people.applicants.map((a) => ({
          type: 'SubmitApplication',
          actor: applicant(a.applicationId),
          data: { applicationId: a.applicationId, title: `${a.name}: foundation model proposal`, lead: { organisationId: a.organisationId, name: a.name, type: 'company' }, members: [] },
        })) as CycleCommand[],
      ]);
    case 'review': {
      const opened = last(events, 'ReviewRoundOpened');
      if (!opened) return null;
      const scheme = policy.scoring[(policy.stages[opened.data.stageIndex] as { scoring: string }).scoring];
      return once(`reviews ${opened.data.roundKey}`, () => [
        (opened.data.applications as string[]).flatMap((id) =>
          panel.reviewers.map((r) => ({
            type: 'SubmitReview',
            actor: r,
            data: { reviewId: `${opened.data.roundKey}-${id}-${r.subject}`, applicationId: id, ...people.score(scheme, id, r.subject, opened.data.round), conflictOfInterest: { declared: false } },
          })),
        ) as CycleCommand[],
      ]);
    }
    case 'selection': {
      const proposed = last(events, 'SelectionProposed');
      return proposed ? once(`approve selection ${proposed.data.decisionKey}`, () => [[{ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked (simulated)' } }]]) : null;
    }
    case 'evaluation': {
      const opened = last(events, 'EvaluationRoundOpened');
      if (!opened) return null;
      const round = opened.data.round as number;
      const scheme = policy.scoring[(policy.stages[opened.data.stageIndex] as { scoring: string }).scoring];
      const submitting = (opened.data.teams as string[]).filter((id) => people.submits(id, round));
      // The models first: a team's scores are taken once its model is in.
      return once(`evaluation round ${round}`, () => [
        submitting.map((id) => ({ type: 'SubmitModel', actor: applicant(id), data: { applicationId: id, round, artifact: { uri: `s3://simulated/${id}/${round}`, sha256: 'a'.repeat(64) } } })) as CycleCommand[],
        submitting.flatMap((id) =>
          panel.evaluators.map((e) => ({
            type: 'SubmitEvaluationScores',
            actor: e,
            data: { scoreSetId: `eval-${round}-${id}-${e.subject}`, applicationId: id, round, ...people.score(scheme, id, e.subject, round), conflictOfInterest: { declared: false } },
          })),
        ) as CycleCommand[],
      ]);
    }
    case 'narrowing': {
      const proposed = last(events, 'NarrowingProposed');
      return proposed ? once(`approve narrowing ${proposed.data.decisionKey}`, () => [[{ type: 'ApproveNarrowing', actor: pm, data: { round: proposed.data.round } }]]) : null;
    }
    case 'procurement': {
      const opened = last(events, 'ProcurementOpened');
      if (!opened) return null;
      const finalists = opened.data.finalists as string[];
      // The contracts first, then the release declarations.
      return once('procurement', () => [
        finalists.map((id) => ({
          type: 'RecordProcurementContract',
          actor: pm,
          data: { contractId: `c-${id}`, applicationId: id, agency: 'Ministry (simulated)', model: `${id}-public`, term: { start: '2029-01-01T00:00:00Z', end: '2030-12-31T00:00:00Z' }, amount: { value: 1_000_000, currency: 'EUR' }, budgetLine: 'SIM' },
        })) as CycleCommand[],
        finalists.map((id) => ({
          type: 'RecordReleaseDeclaration',
          actor: applicant(id),
          data: { applicationId: id, repository: `https://git.example/${id}/base`, licence: 'Apache-2.0', artifacts: [{ name: 'weights.safetensors', sha256: 'b'.repeat(64) }] },
        })) as CycleCommand[],
      ]);
    }
    default:
      return null;
  }
}

class Cycle {
  constructor(
    private readonly stack: SimulationStack,
    readonly handle: WorkflowHandle,
    readonly id: string,
    private readonly slug: string,
    private readonly year: number,
  ) {}

  /** Sends a command; answers once the cycle has accepted it (its validator passed), with a handle on its outcome. */
  send(command: CycleCommand): Promise<WorkflowUpdateHandle<unknown>> {
    const update = commandUpdates[command.type as PersonCommand['type']];
    return this.handle.startUpdate(update as never, { args: [command as PersonCommand], waitForStage: WorkflowUpdateStage.ACCEPTED });
  }

  async state(): Promise<string> {
    return (await this.handle.describe()).status.name;
  }

  /** Moves the clock just past the next deadline and waits until the cycle has acted on it. */
  async passDeadline(before: CycleStatus): Promise<void> {
    const wait = Date.parse(before.nextDeadline!.at) + 1000 - (await this.stack.env.currentTimeMs());
    if (wait > 0) await this.stack.env.sleep(wait);
    await poll('the deadline acted on', async () => {
      if ((await this.state()) !== 'RUNNING') return true;
      const now = await this.handle.query(cycleStatusQuery);
      return now.eventsRecorded > before.eventsRecorded || now.nextDeadline?.at !== before.nextDeadline?.at || now.stage !== before.stage;
    });
  }

  /** Waits until the cycle and its running grants have nothing under way (no task, no activity, nothing being started). */
  async settled(): Promise<void> {
    await poll('the cycle and its grants at rest', async () => {
      const rest = await workflowRest(this.handle);
      if (rest.status !== 'RUNNING') return true;
      if (!rest.atRest) return false;
      const grants = await Promise.all(
        (await this.grantTeams()).map((team) => this.stack.env.client.workflow.getHandle(grantWorkflowId(this.slug, this.year, team)).describe().catch(() => null)),
      );
      return grants.every((grant) => !grant || grant.status.name !== 'RUNNING' || (!grant.raw.pendingWorkflowTask && (grant.raw.pendingActivities?.length ?? 0) === 0));
    });
  }

  /** Every team given a grant so far (awardees and refill entrants), from the recorded events. */
  private async grantTeams(): Promise<string[]> {
    const teams = new Set<string>();
    for (const e of await this.stack.store.readStream(this.id)) {
      const data = e.data as { awardees?: string[]; entrants?: string[] };
      if (e.type === 'AwardeesSelected') for (const t of data.awardees ?? []) teams.add(t);
      if (e.type === 'RefillEntrantsSelected') for (const t of data.entrants ?? []) teams.add(t);
    }
    return [...teams];
  }
}

async function poll(what: string, check: () => Promise<boolean>): Promise<void> {
  const until = Date.now() + POLL_BOUND_MS;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`simulate: ${what} not reached within ${POLL_BOUND_MS / 1000} s`);
}
