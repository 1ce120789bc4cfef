/**
 * Scale section of `npm run bench` (issue 8): a full-size call through the HTTP API on the dev
 * server, then every workflow history of the cycle measured against the budget.
 *
 *   npm run build && node dist/bench/scale-call.js [--applications 514] [--reviews 3] [--selected 159]
 *     [--members 30] [--summary-chars 10000] [--concurrency 8] [--reviewers 24] [--review-seconds N]
 *     [--stall-seconds 120]
 *
 * It starts its own Temporal dev server, a fresh PostgreSQL database, the built worker and admin
 * API (bench/scale-stack.ts); creates a program whose policy selects `selected` with short stages;
 * registers exactly the GPUs the grants need; then, with `concurrency` clients: the applications
 * (summaries of `summary-chars` characters, `members` consortium members with LEI-style ids), the
 * reviews by a panel named at cycle start (distinct reviewers, no conflicts), the program
 * manager's approval; and waits (bounded polls) until every grant has started. A cycle that stops
 * moving — no new history event for `stall-seconds` while something is expected, or a workflow
 * task failing again and again — is reported as wedged, with the pending workflow task, pending
 * activities, the last workflow task failure and the worker's error lines; the histories are
 * measured either way.
 *
 * Reported: per run of `cycle:<program>:<year>`, events and encoded history size, the largest
 * payload (workflow input, continue-as-new carry, Update inputs and results, activity inputs and
 * results, child inputs, signals) and the largest per kind, each against the budget (256 KB per
 * payload, 10,000 events per run) with PASS/FAIL; the `cycleStatus` Query result once at the end;
 * the grant workflows; and throughput (applications/s, reviews/s, p50/p95 latency) for context.
 * Nothing asserts: the verdict is printed.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { Api, drive, timed, token, type PhaseResult } from './scale-api';
import { planCall, scalePolicy, type PlannedApplication, type PlannedReview, type ScaleShape } from './scale-data';
import { measureQuery, measureWorkflowRuns, type RunMeasure } from './scale-history';
import { startScaleStack } from './scale-stack';
import { Watch, Wedged, stopOnServerErrors, type Diagnosis } from './scale-watch';
import { commandBaseline, fanOutBaseline, readLoad, sequentialLatencies, startBareNest, type LoadResult } from './scale-baselines';
import { phaseLine, printScaleReport } from './scale-report';

export interface ScaleOptions extends ScaleShape {
  concurrency: number;
  /** No history progress for this long while the harness waits for something: wedged. */
  stallSeconds: number;
}

export const FULL_SIZE: ScaleOptions = {
  applications: 514,
  reviews: 3,
  selected: 159,
  members: 30,
  summaryChars: 10_000,
  reviewers: 24,
  reviewSeconds: 0,
  gpusPerAwardee: 8,
  concurrency: 8,
  stallSeconds: 120,
};

/** Fills what follows from the others: the selection from the call's size, the review window from the number of reviews. */
export function completeOptions(partial: Partial<ScaleOptions>): ScaleOptions {
  const o = { ...FULL_SIZE, ...partial };
  if (partial.selected === undefined && partial.applications !== undefined) o.selected = Math.max(1, Math.min(FULL_SIZE.selected, Math.round((o.applications * FULL_SIZE.selected) / FULL_SIZE.applications)));
  o.selected = Math.min(o.selected, o.applications);
  o.reviewers = Math.max(o.reviewers, o.reviews);
  // Long enough for every review at a modest 4 reviews/s, and never under a minute.
  if (!partial.reviewSeconds) o.reviewSeconds = Math.max(60, Math.ceil((o.applications * o.reviews) / 4));
  return o;
}

export interface ScaleReport {
  options: ScaleOptions;
  cycleId: string;
  startedAt: string;
  phases: PhaseResult[];
  waits: Array<{ what: string; seconds: number }>;
  /** Where it got to, or why it stopped. */
  outcome: { reached: boolean; text: string; diagnosis?: Diagnosis };
  grantsStarted: number;
  runs: RunMeasure[];
  query: { bytes: number } | { error: string };
  grants: { workflows: number; maxEvents: number; largest: { bytes: number; kind: string; workflowId: string } | null; error?: string };
  /** Payloads the worker's SDK refused to upload (TMPRL1103): the largest one, and how often. */
  refused: { bytes: number; limit: number; path: string | null; times: number } | null;
  logDir: string;
  /** Same-run baselines: each command phase against a bare Nest route, the grants' fan-out against bare workflows, reads against a bare GET. */
  baselines: {
    phases: Map<string, PhaseResult>;
    grantsSeconds: number | null;
    /** One request at a time (ms): GET /v1/gpu/pool with every grant's allocation, and the bare GET. */
    poolLatency: { ours: number[]; bare: number[] } | null;
    reads: Array<{ ours: LoadResult; bare: LoadResult }>;
  };
}

export async function runScaleCall(options: ScaleOptions, log: (line: string) => void = (l) => console.log(`[scale] ${l}`)): Promise<ScaleReport> {
  const shape = options;
  log(`planning ${shape.applications} applications (${shape.summaryChars}-character summaries, ${shape.members} members), ${shape.reviews} reviews each, ${shape.selected} selected, review window ${shape.reviewSeconds} s`);
  const plan = planCall(shape);
  log('starting the Temporal dev server, PostgreSQL, the worker and the admin API ...');
  const stack = await startScaleStack(log);
  const slug = `scale-${randomBytes(3).toString('hex')}`;
  const year = 2027;
  const cycleId = `cycle:${slug}:${year}`;
  const report: ScaleReport = {
    options,
    cycleId,
    startedAt: new Date().toISOString(),
    phases: [],
    waits: [],
    outcome: { reached: false, text: 'not started' },
    grantsStarted: 0,
    runs: [],
    query: { error: 'not measured' },
    grants: { workflows: 0, maxEvents: 0, largest: null },
    refused: null,
    logDir: stack.logDir,
    baselines: { phases: new Map(), grantsSeconds: null, poolLatency: null, reads: [] },
  };
  const bare = await startBareNest();
  let firstRunId: string | undefined;
  try {
    const api = new Api(stack.apiUrl);
    const pm = token({ sub: 'pm@programme.example.eu', role: 'program_manager' });
    const watch = new Watch(stack, cycleId, shape.stallSeconds * 1000);

    await api.expect('POST', '/v1/programs', pm, { slug, name: `Scale benchmark ${slug}`, policy: scalePolicy(shape) }, 201);
    await api.expect(
      'POST',
      '/v1/gpu/capacity',
      pm,
      {
        id: `${slug}-h100`,
        site: 'bench-site',
        cluster: 'bench-cluster',
        provider: 'ledger',
        gpuType: 'H100',
        count: shape.selected * shape.gpusPerAwardee,
        ownership: 'owned',
        availableFrom: new Date(Date.now() - 24 * 3600_000).toISOString(),
      },
      201,
    );
    const started = (await api.expect('POST', `/v1/programs/${slug}/cycles`, pm, { year, panel: { reviewers: plan.panel, evaluators: [] } }, 201)) as { id: string; runId: string };
    firstRunId = started.runId;
    const stage = async () => {
      const res = await api.call('GET', `/v1/cycles/${encodeURIComponent(cycleId)}`, pm);
      const body = res.body as { live?: { stage?: string; nextDeadline?: { at: string } | null } | null; recorded?: { stage?: string } | null } | null;
      return { stage: body?.live?.stage ?? body?.recorded?.stage, nextDeadline: body?.live?.nextDeadline ?? null };
    };

    report.waits.push(await watch.until('the call to open', async () => (await stage()).stage === 'call', 60_000));

    log(`applications: ${plan.applications.length} with ${shape.concurrency} clients ...`);
    const applications = await drive('applications', plan.applications, shape.concurrency, shape.stallSeconds * 1000, (a: PlannedApplication) =>
      api.command(`/v1/cycles/${encodeURIComponent(cycleId)}/applications`, token({ sub: `submitter@${a.lead.organisationId}`, role: 'applicant', org: a.lead.organisationId }), {
        applicationId: a.applicationId,
        title: a.title,
        summary: a.summary,
        lead: a.lead,
        members: a.members,
      }),
      log,
    );
    report.phases.push(applications);
    log(phaseLine(applications));
    const applicationBody = (a: PlannedApplication) => ({ applicationId: a.applicationId, title: a.title, summary: a.summary, lead: a.lead, members: a.members });
    report.baselines.phases.set('applications', await commandBaseline(bare, 'applications', plan.applications, shape.concurrency, applicationBody));
    await stopOnServerErrors(applications, watch);

    report.waits.push(await watch.until('the review round to open', async () => (await stage()).stage === 'review', 60_000));
    const reviewDueAt = (await stage()).nextDeadline?.at;
    log(`reviews: ${plan.reviews.length} by ${plan.panel.length} reviewers with ${shape.concurrency} clients (round due ${reviewDueAt ?? '?'}) ...`);
    const reviews = await drive('reviews', plan.reviews, shape.concurrency, shape.stallSeconds * 1000, (r: PlannedReview) =>
      api.command(`/v1/cycles/${encodeURIComponent(cycleId)}/reviews`, token({ sub: r.reviewer, role: 'reviewer' }), {
        applicationId: r.applicationId,
        scores: r.scores,
        conflictOfInterest: { declared: false },
      }),
      log,
    );
    report.phases.push(reviews);
    log(phaseLine(reviews));
    report.baselines.phases.set(
      'reviews',
      await commandBaseline(bare, 'reviews', plan.reviews, shape.concurrency, (r: PlannedReview) => ({ applicationId: r.applicationId, scores: r.scores, conflictOfInterest: { declared: false } })),
    );
    await stopOnServerErrors(reviews, watch);

    // The review round closes on its own timer; the wait is bounded by its due time plus the stall bound.
    const untilDue = reviewDueAt ? Math.max(0, Date.parse(reviewDueAt) - Date.now()) : shape.reviewSeconds * 1000;
    log(`waiting for the review round to close (${Math.round(untilDue / 1000)} s) and the selection to be proposed ...`);
    report.waits.push(await watch.until('the selection to be proposed', async () => (await stage()).stage === 'selection', untilDue + shape.stallSeconds * 1000, untilDue));

    const approval = await timed(() => api.expect('POST', `/v1/cycles/${encodeURIComponent(cycleId)}/selection/approve`, pm, { rationale: 'as ranked by the panel' }, 200));
    report.phases.push({ name: 'approval', planned: 1, ok: 1, retried: 0, failures: new Map(), latenciesMs: [approval.ms], seconds: approval.ms / 1000, stalled: null });
    log(`selection approved: ${JSON.stringify((approval.value as { events?: string[] }).events ?? [])}`);

    log(`waiting for ${shape.selected} grants to start ...`);
    let active = 0;
    report.waits.push(
      await watch.until(
        `${shape.selected} grants to start`,
        async () => {
          const res = await api.call('GET', `/v1/cycles/${encodeURIComponent(cycleId)}/grants`, pm);
          const grants = ((res.body as { grants?: Array<{ status: string }> } | null)?.grants ?? []) as Array<{ status: string }>;
          active = grants.filter((g) => g.status === 'active').length;
          report.grantsStarted = active;
          return active >= shape.selected;
        },
        shape.stallSeconds * 1000 + shape.selected * 2_000,
        0,
        () => active,
      ),
    );
    report.outcome = { reached: true, text: `the cycle reached its grants: ${report.grantsStarted}/${shape.selected} started` };

    log('baselines: bare workflows for the grants, then the read routes under load ...');
    report.baselines.grantsSeconds = await fanOutBaseline(stack.temporalAddress, shape.selected);
    const auth = { authorization: pm };
    report.baselines.poolLatency = { ours: await sequentialLatencies(`${stack.apiUrl}/v1/gpu/pool`, auth, 30), bare: await sequentialLatencies(`${bare.url}/ping`, {}, 30) };
    const bareLoad = await readLoad(bare.url, '/ping', {});
    for (const path of [`/v1/programs/${slug}`, `/v1/cycles/${encodeURIComponent(cycleId)}`, '/v1/gpu/pool']) {
      report.baselines.reads.push({ ours: await readLoad(stack.apiUrl, path, auth), bare: bareLoad });
    }
  } catch (error) {
    if (error instanceof Wedged) report.outcome = { reached: false, text: `wedged: ${error.message}`, diagnosis: error.diagnosis };
    else report.outcome = { reached: false, text: `harness stopped: ${(error as Error).message}` };
    log(report.outcome.text);
  }

  try {
    log('measuring histories ...');
    report.query = await measureQuery(stack.client, cycleId, 'cycleStatus');
    report.runs = await measureWorkflowRuns(stack.client, cycleId, firstRunId);
    report.grants = await measureGrants(stack.client, slug, year);
  } catch (error) {
    log(`measuring failed: ${(error as Error).message}`);
  } finally {
    const refused = stack.worker.refusedPayloads;
    if (refused.length > 0) {
      const largest = refused.reduce((a, b) => (b.bytes > a.bytes ? b : a));
      report.refused = { ...largest, times: refused.length };
    }
    log('stopping ...');
    await bare.close();
    await stack.stop();
  }
  return report;
}

async function measureGrants(client: Client, slug: string, year: number): Promise<ScaleReport['grants']> {
  const ids = new Set<string>();
  for await (const e of client.workflow.list({ query: `WorkflowType = 'computeGrant'` })) if (e.workflowId.startsWith(`grant:${slug}:${year}:`)) ids.add(e.workflowId);
  const out: ScaleReport['grants'] = { workflows: ids.size, maxEvents: 0, largest: null };
  for (const id of ids) {
    for (const run of await measureWorkflowRuns(client, id)) {
      out.maxEvents = Math.max(out.maxEvents, run.events);
      if (run.largest && (!out.largest || run.largest.bytes > out.largest.bytes)) out.largest = { bytes: run.largest.bytes, kind: run.largest.kind, workflowId: id };
    }
  }
  return out;
}

/** The scale section of `npm run bench`: sizes from BENCH_SCALE_* (defaults: full size). */
export async function runScaleSection(): Promise<void> {
  const env = (name: string) => (process.env[name] === undefined ? undefined : Number(process.env[name]));
  const partial: Partial<ScaleOptions> = {};
  for (const [key, name] of [
    ['applications', 'BENCH_SCALE_APPLICATIONS'],
    ['reviews', 'BENCH_SCALE_REVIEWS'],
    ['selected', 'BENCH_SCALE_SELECTED'],
    ['concurrency', 'BENCH_SCALE_CONCURRENCY'],
    ['reviewSeconds', 'BENCH_SCALE_REVIEW_SECONDS'],
    ['stallSeconds', 'BENCH_SCALE_STALL_SECONDS'],
  ] as const) {
    const v = env(name);
    if (v !== undefined) partial[key] = v;
  }
  printScaleReport(await runScaleCall(completeOptions(partial)));
}

export function parseArgs(argv: string[]): Partial<ScaleOptions> {
  const keys: Record<string, keyof ScaleOptions> = {
    '--applications': 'applications',
    '--reviews': 'reviews',
    '--selected': 'selected',
    '--members': 'members',
    '--summary-chars': 'summaryChars',
    '--reviewers': 'reviewers',
    '--review-seconds': 'reviewSeconds',
    '--gpus-per-awardee': 'gpusPerAwardee',
    '--concurrency': 'concurrency',
    '--stall-seconds': 'stallSeconds',
  };
  const out: Partial<ScaleOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const key = keys[flag];
    if (!key) throw new Error(`unknown option ${flag} (known: ${Object.keys(keys).join(', ')})`);
    const value = Number(inline ?? argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} needs a whole number`);
    out[key] = value;
  }
  return out;
}

if (require.main === module) {
  runScaleCall(completeOptions(parseArgs(process.argv.slice(2))))
    .then((report) => {
      printScaleReport(report);
      process.exit(0);
    })
    .catch((error: Error) => {
      console.error(error);
      process.exit(1);
    });
}
