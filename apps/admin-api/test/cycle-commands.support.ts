/**
 * Shared by the cycle-command integration tests: the real worker module and HTTP API on a fresh
 * database and the Temporal dev server, tokens for every role, and bounded polling (no sleeps).
 */
import { randomBytes } from 'node:crypto';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import request from 'supertest';

import { defaultPolicyDocument } from '@concentra/domain';
import { GpuLedger } from '@concentra/gpu';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { WorkerModule } from '../../worker/src/worker.module';
import { createAdminApi } from '../src/bootstrap';

import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { GENEROUS_TEST_CAPACITY } from '../../../test/support/gpu';
import { bearer } from './api.support';

export { bearer };

export interface Harness {
  database: TestDatabase;
  api: INestApplication;
  /** The worker's Nest application context (its WorkerHost, DataSource, ...). */
  worker: INestApplicationContext;
  client: Client;
  http(): ReturnType<typeof request>;
  /** Events recorded in one cycle's stream. */
  eventCount(streamId: string): Promise<number>;
  close(): Promise<void>;
}

export async function startHarness(taskQueue: string): Promise<Harness> {
  const database = await createTestDatabase();
  Object.assign(process.env, {
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
    TEMPORAL_TASK_QUEUE: taskQueue,
    MIGRATIONS_RUN: 'false',
  });
  const worker: INestApplicationContext = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn'] });
  await worker.init();
  // GPUs for the grants: the worker's own ledger, with capacity on the ledger-only provider (no Slurm here).
  const ledger = worker.get(GpuLedger);
  for (const capacity of GENEROUS_TEST_CAPACITY) await ledger.registerCapacity(capacity, { role: 'system', subject: 'test-setup' });
  const api = await createAdminApi(['error', 'warn']);
  await api.init();
  const connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS });
  const client = new Client({ connection });
  return {
    database,
    api,
    worker,
    client,
    http: () => request(api.getHttpServer()),
    eventCount: async (streamId) => Number(((await database.db.query('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId])) as { n: string }[])[0].n),
    close: async () => {
      await terminateRunning(client, taskQueue);
      await api.close();
      await worker.close();
      await connection.close();
      await database.drop();
    },
  };
}

/** The tests' own workflows still running at the end (e.g. a cycle waiting to open next year) are terminated. */
async function terminateRunning(client: Client, taskQueue: string): Promise<void> {
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    try {
      await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('integration test finished');
    } catch (error) {
      if (!(error instanceof WorkflowNotFoundError)) throw error;
    }
  }
}


export const pm = bearer({ sub: 'pm-1', role: 'program_manager' });
export const auditor = bearer({ sub: 'auditor-1', role: 'auditor' });
export const applicant = (org: string) => bearer({ sub: `user@${org}`, role: 'applicant', org });
export const reviewer = (n: number) => bearer({ sub: `reviewer-${n}`, role: 'reviewer' });
export const evaluator = (n: number) => bearer({ sub: `evaluator-${n}`, role: 'evaluator' });

/** Reviewers 1-2 sit for independent organisations; reviewer 3 works for org-x, a member of one consortium. */
export const panel = {
  reviewers: [
    { subject: 'reviewer-1', organisationId: 'rev-org-1' },
    { subject: 'reviewer-2', organisationId: 'rev-org-2' },
    { subject: 'reviewer-3', organisationId: 'org-x' },
  ],
  evaluators: [
    { subject: 'evaluator-1', organisationId: 'eval-org-1' },
    { subject: 'evaluator-2', organisationId: 'eval-org-2' },
  ],
};

export const company = (id: string) => ({ organisationId: id, name: `Company ${id}`, type: 'company' });
export const university = (id: string) => ({ organisationId: id, name: `University ${id}`, type: 'university' });

/**
 * The default policy with durations in seconds (wiring tests only): the call closes after five
 * applications, review and evaluation windows are seconds long, approvals wait long enough for the
 * test to give them, a refill call fills a seat left by a narrowing that kept fewer than planned,
 * and the cycle does not repeat.
 */
export function shortPolicy(options: { review?: string; afterApplications?: number } = {}) {
  const stages = defaultPolicyDocument.stages;
  return {
    ...defaultPolicyDocument,
    program: undefined,
    repeatEvery: undefined,
    stages: [
      { ...stages[0], closing: { deadline: 'PT30M', afterApplications: options.afterApplications ?? 4 } },
      { kind: 'review', name: 'Expert review', duration: options.review ?? 'PT12S', scoring: 'proposal' },
      { kind: 'selection', name: 'Selection', minAwardees: 2, maxAwardees: 3, approvalDue: 'PT30M', onApprovalTimeout: 'apply_ranking' },
      { kind: 'grant', name: 'Compute grant', duration: 'PT2S', gpusPerAwardee: [{ type: 'H100', count: 8 }] },
      {
        kind: 'evaluation',
        name: 'Model evaluation',
        submissionDue: 'PT10S',
        scoringDue: 'PT3S',
        scoring: 'model',
        narrowing: { keep: 2, approvalDue: 'PT30M', onApprovalTimeout: 'apply_ranking' },
      },
      {
        kind: 'refill',
        name: 'Refill call',
        fillUpTo: 2,
        openFor: 'PT6S',
        reviewFor: 'PT6S',
        scoring: 'proposal',
        approvalDue: 'PT30M',
        onApprovalTimeout: 'select_none',
        openTo: { newcomers: true, eliminatedTeams: true },
      },
      { kind: 'extension', name: 'Finalist extension', duration: 'PT2S' },
      { kind: 'procurement', name: 'Procurement and release', contractsDue: 'PT30M', openSourceReleaseDue: 'PT30M', allowedLicences: ['Apache-2.0', 'MIT'] },
    ],
    scoring: {
      proposal: { ...defaultPolicyDocument.scoring.proposal, minimumScoresPerApplication: 2 },
      model: { ...defaultPolicyDocument.scoring.model, minimumScoresPerApplication: 2 },
    },
    objections: { windowDays: 1, appliesTo: ['narrowing'] },
    reminders: { before: [] },
    missingInputs: {
      scores: { belowMinimumAtDeadline: 'proceed_with_present', extendBy: 'PT30S', stillMissingAfterExtension: 'proceed_with_present' },
      evaluationSubmission: 'score_zero',
      objectionDecisionDue: 'PT30M',
    },
    confidentiality: { publish: { applicationCount: true, awardeeNames: true, topScore: true, meanScore: false, medianScore: false } },
  };
}

/** Polls `probe` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    last = value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Checks an HTTP status and shows the body when it is not the expected one. */
export function expectStatus<R extends { status: number; body: unknown }>(res: R, status: number): R {
  if (res.status !== status) throw new Error(`expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res;
}

/**
 * One cycle of a fresh program, for a describe block: the API and worker start before its tests and
 * stop after them. `h` stands for the started harness; `post`/`get` address the cycle's routes.
 */
export function cycleUnderTest(prefix: string, year: number) {
  const slug = `${prefix}-${randomBytes(3).toString('hex')}`;
  const id = cycleWorkflowId(slug, year);
  const taskQueue = `cycle-${slug}`;
  let harness: Harness | undefined;
  beforeAll(async () => {
    harness = await startHarness(taskQueue);
  });
  afterAll(async () => {
    await harness?.close();
  });
  const started = (): Harness => {
    if (!harness) throw new Error('the harness has not started (use it inside tests, not at describe time)');
    return harness;
  };
  const h: Harness = {
    get database() {
      return started().database;
    },
    get api() {
      return started().api;
    },
    get client() {
      return started().client;
    },
    get worker() {
      return started().worker;
    },
    http: () => started().http(),
    eventCount: (streamId) => started().eventCount(streamId),
    close: () => started().close(),
  };
  const post = (path: string, auth: string, body?: object) => h.http().post(`/v1/cycles/${id}${path}`).set('Authorization', auth).send(body);
  const get = (path: string, auth: string) => h.http().get(`/v1/cycles/${id}${path}`).set('Authorization', auth);
  const liveStage = async () => (expectStatus(await get('', auditor), 200).body.live?.stage as string | undefined);
  const waitForStage = (stage: string, timeoutMs = 60_000) => eventually(`stage "${stage}"`, async () => (await liveStage()) === stage, timeoutMs);
  return { slug, year, id, taskQueue, h, post, get, liveStage, waitForStage };
}
