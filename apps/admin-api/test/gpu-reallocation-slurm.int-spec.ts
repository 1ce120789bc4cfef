import { createHash, randomBytes } from 'node:crypto';
import type { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import request from 'supertest';
import { SlurmProvider } from '@concentra/gpu';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { WorkerModule } from '../../worker/src/worker.module';
import { createAdminApi } from '../src/bootstrap';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startSlurm, type SlurmCluster } from '../../../test/support/slurm';
import { applicant, auditor, company, evaluator, eventually, expectStatus, panel, pm, reviewer, shortPolicy } from './cycle-commands.support';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** GPUs per awardee, per finalist, and the Slurm-backed capacity row they are served on. */
const PER_AWARDEE = 4;
const PER_FINALIST = 10;
const CAPACITY = 64;

/**
 * Issue 9, on real parts end to end: a program manager sets the pool policy to
 * `to_remaining_grants` through `PUT /v1/gpu/policy`; a cycle runs through the HTTP API on the
 * Temporal dev server with the real worker, whose GPU activities provision on real Slurm
 * (tools/slurm/slurm.sh); three teams hold PER_AWARDEE GPUs each, one is eliminated at the
 * narrowing, its GPUs reach the two remaining grants, and the finalists are extended with
 * `gpusPerFinalist`. Every limit is read back from `sacctmgr show assoc` (GrpTRES gres/gpu) and
 * compared with `GET /v1/gpu/pool`. Durations are seconds: a wiring test; waits are bounded polls.
 *
 * Known, not fixed here: concurrent `sacctmgr add account` (three grants provisioning at once) now and
 * then leaves an association without its account record; `delete account` then answers "Nothing
 * deleted", the provider counts that as removed, and the association (with its GrpTRES) stays in
 * Slurm: the release waits below then time out. The final finalist amount pinned below
 * (gpusPerFinalist + the share) is what the engine does when the extension is applied before the
 * freed share arrives; applied in the other order the share would be overwritten.
 */
describe('GPU reallocation and finalist limits on real Slurm, through the admin API', () => {
  const slug = `realloc-${randomBytes(3).toString('hex')}`;
  const year = 2027;
  const id = cycleWorkflowId(slug, year);
  const taskQueue = `gpu-realloc-slurm-${slug}`;
  const grantId = (team: string) => `grant:${slug}:${year}:${team}`;
  let slurm: SlurmCluster;
  let database: TestDatabase;
  let worker: INestApplicationContext | undefined;
  let api: INestApplication | undefined;
  let connection: Connection | undefined;
  /** What Slurm showed, each change of an account's GrpTRES in the order seen (printed when an assertion fails). */
  const trace: string[] = [];
  const startedAt = Date.now();

  beforeAll(async () => {
    slurm = await startSlurm();
    database = await createTestDatabase();
    Object.assign(process.env, {
      ...slurm.env,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: taskQueue,
      MIGRATIONS_RUN: 'false',
    });
    // The real worker: its GPU providers come from the environment (SLURM_CONF above).
    worker = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn'] });
    await worker.init();
    api = await createAdminApi(['error', 'warn']);
    await api.init();
    connection = await Connection.connect({ address: process.env.TEST_TEMPORAL_ADDRESS });
  }, 25 * 60_000);

  afterAll(async () => {
    if (connection) {
      const client = new Client({ connection });
      for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
        try {
          await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('integration test finished');
        } catch (error) {
          if (!(error instanceof WorkflowNotFoundError)) throw error;
        }
      }
    }
    await api?.close();
    await worker?.close();
    await connection?.close();
    // Leave no account behind in Slurm, even when an assertion failed half-way.
    if (database && slurm) {
      const provider = new SlurmProvider({ slurmConf: slurm.slurmConf });
      const rows = (await database.db.query(`SELECT DISTINCT account FROM gpu_allocations WHERE account IS NOT NULL`)) as { account: string }[];
      for (const { account } of rows) await provider.removeAccount({ cluster: slurm.cluster, account }).catch(() => undefined);
    }
    await database?.drop();
  }, 5 * 60_000);

  const http = () => request(api!.getHttpServer());
  const post = (path: string, auth: string, body?: object) => http().post(`/v1/cycles/${id}${path}`).set('Authorization', auth).send(body);
  const liveStage = async () => (expectStatus(await http().get(`/v1/cycles/${id}`).set('Authorization', auditor), 200).body.live?.stage as string | undefined);
  const waitForStage = (stage: string, timeoutMs = 60_000) => eventually(`stage "${stage}"`, async () => (await liveStage()) === stage, timeoutMs, 300);
  const command = async (path: string, auth: string, body: object | undefined, status: number) => expectStatus(await post(path, auth, body), status).body as { events: string[]; stage: string };

  /** `sacctmgr -nP show assoc`: the account associations' GrpTRES gres/gpu (null: no limit), by account; a missing account is absent. */
  const slurmGpuLimits = async (accounts: string[]): Promise<Record<string, number | null>> => {
    const out = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `account=${accounts.join(',')}`, 'format=account,user,grptres']);
    if (out.code !== 0) throw new Error(`sacctmgr show assoc failed (${out.code}): ${out.stdout}${out.stderr}`);
    const limits: Record<string, number | null> = {};
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const [account, user, grpTres] = line.split('|');
      if (user !== '') continue; // the account association, not a user's
      const gpu = /(?:^|,)gres\/gpu=(\d+)/.exec(grpTres);
      limits[account] = gpu ? Number(gpu[1]) : null;
    }
    const seen = JSON.stringify(limits);
    if (trace.at(-1)?.endsWith(seen) !== true) trace.push(`${new Date().toISOString()} ${seen}`);
    return limits;
  };
  /** The id of an account's own association (the row with no user). */
  const assocId = async (account: string): Promise<string> => {
    const out = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `account=${account}`, 'user=', 'format=id']);
    const ids = out.stdout.split('\n').filter(Boolean);
    if (out.code !== 0 || ids.length !== 1) throw new Error(`no single association for ${account}: ${out.stdout}${out.stderr}`);
    return ids[0];
  };
  /**
   * Every GPU limit Slurm recorded for an association, in order, from its own transaction log
   * (`sacctmgr show transactions`): the GrpTRES given when it was added and at each modification
   * that set it. Independent of how often the test polled.
   */
  const slurmLimitHistory = async (assoc: string): Promise<number[]> => {
    const tres = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'tres', 'where', 'type=gres', 'name=gpu', 'format=id']);
    const gpuTres = tres.stdout.trim();
    if (tres.code !== 0 || !/^\d+$/.test(gpuTres)) throw new Error(`sacctmgr show tres: ${tres.stdout}${tres.stderr}`);
    const since = Math.ceil((Date.now() - startedAt) / 1000) + 120;
    const out = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'transactions', `start=now-${since}`, 'format=action,where,info']);
    if (out.code !== 0) throw new Error(`sacctmgr show transactions: ${out.stdout}${out.stderr}`);
    const history: number[] = [];
    for (const line of out.stdout.split('\n').filter(Boolean)) {
      const [action, where, ...rest] = line.split('|');
      const info = rest.join('|');
      const mine = (action === 'Add Associations' && where === `id_assoc=${assoc}`) || (action === 'Modify Associations' && where === `(id_assoc=${assoc})`);
      const set = mine ? (/grp_tres = if \(id_assoc=\d+, '([^']*)'/.exec(info) ?? /(?:^|, )grp_tres='([^']*)'/.exec(info)) : null;
      const gpus = set && new RegExp(`(?:^|,)${gpuTres}=(\\d+)`).exec(set[1]);
      if (gpus) history.push(Number(gpus[1]));
    }
    return history;
  };
  const pool = async () => expectStatus(await http().get('/v1/gpu/pool').set('Authorization', pm), 200).body as PoolRead;
  const liveByGrant = (read: PoolRead) => Object.fromEntries(read.allocations.live.map((a) => [a.grantId, a]));
  const withTrace = async <T>(what: () => Promise<T>): Promise<T> => {
    try {
      return await what();
    } catch (error) {
      throw new Error(`${(error as Error).message}\nSlurm GrpTRES as seen, in order:\n${trace.join('\n')}\nledger operations:\n${await operations()}`, { cause: error });
    }
  };
  const operations = async () =>
    ((await database.db.query(`SELECT idempotency_key, status, target, finished_at FROM gpu_operations WHERE kind = 'change' ORDER BY started_at`)) as object[])
      .map((o) => JSON.stringify(o))
      .join('\n');

  it("sets to_remaining_grants through PUT /v1/gpu/policy; an eliminated team's GPUs reach the finalists in Slurm and the pool read; gpusPerFinalist reaches Slurm", async () => {
    // The pool: one Slurm-backed capacity row, and the program manager's reallocation rule.
    expectStatus(
      await http()
        .post('/v1/gpu/capacity')
        .set('Authorization', pm)
        .send({ id: 'slurm-h100', site: 'local', cluster: slurm.cluster, provider: 'slurm', gpuType: 'H100', count: CAPACITY, ownership: 'owned', availableFrom: '2020-01-01T00:00:00Z' }),
      201,
    );
    const current = expectStatus(await http().get('/v1/gpu/policy').set('Authorization', pm), 200).body as { version: number; policy: Record<string, unknown> };
    expect(current.policy.reallocation).toBe('to_pool');
    const put = expectStatus(await http().put('/v1/gpu/policy').set('Authorization', pm).send({ ...current.policy, reallocation: 'to_remaining_grants', basedOnVersion: current.version }), 200);
    expect(put.body).toMatchObject({ changed: true, version: current.version + 1, policy: { reallocation: 'to_remaining_grants' } });
    expect((await pool()).policy).toMatchObject({ version: current.version + 1, document: { reallocation: 'to_remaining_grants' } });

    // A cycle of three teams with PER_AWARDEE H100 each, narrowed to two finalists extended with PER_FINALIST.
    const base = shortPolicy({ afterApplications: 3 });
    const [call, review, selection, grant, evaluation, , extension, procurement] = base.stages;
    const policy = {
      ...base,
      stages: [
        call,
        review,
        { ...selection, minAwardees: 3, maxAwardees: 3 },
        { ...grant, gpusPerAwardee: [{ type: 'H100', count: PER_AWARDEE }] },
        { ...evaluation, submissionDue: 'PT20S', scoringDue: 'PT3S' },
        { ...extension, duration: 'PT30M', gpusPerFinalist: [{ type: 'H100', count: PER_FINALIST }] },
        procurement,
      ],
    };
    expectStatus(await http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Reallocation on Slurm', policy }), 201);
    expectStatus(await http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year, panel }), 201);
    await waitForStage('call', 30_000);

    const teams = { alpha: 'org-a', beta: 'org-b', gamma: 'org-c' } as const;
    for (const [team, org] of Object.entries(teams)) {
      await command('/applications', applicant(org), { applicationId: team, title: team, lead: company(org) }, 201);
    }
    const proposal = { alpha: 9, beta: 8, gamma: 7 } as const;
    for (const n of [1, 2]) {
      for (const [team, v] of Object.entries(proposal)) {
        await command('/reviews', reviewer(n), { applicationId: team, scores: { technical: v, team: v, impact: v }, conflictOfInterest: { declared: false } }, 201);
      }
    }
    await waitForStage('selection');
    expect((await command('/selection/approve', pm, { rationale: 'as ranked' }, 200)).events).toEqual(['AwardeesSelected', 'GrantPeriodStarted']);

    // Three grants live, each a Slurm account limited to PER_AWARDEE GPUs.
    const started = await eventually(
      'three live allocations with Slurm accounts',
      async () => {
        const live = liveByGrant(await pool());
        return Object.keys(teams).every((t) => live[grantId(t)]?.status === 'active' && live[grantId(t)]?.account) ? live : undefined;
      },
      120_000,
      500,
    );
    const account = Object.fromEntries(Object.keys(teams).map((t) => [t, started[grantId(t)].account!.account])) as Record<keyof typeof teams, string>;
    for (const t of Object.keys(teams) as (keyof typeof teams)[]) {
      expect(started[grantId(t)]).toMatchObject({ served: { type: 'H100', count: PER_AWARDEE, capacityId: 'slurm-h100' }, account: { provider: 'slurm', cluster: slurm.cluster }, policyVersion: current.version + 1 });
    }
    expect(await slurmGpuLimits(Object.values(account))).toEqual({ [account.alpha]: PER_AWARDEE, [account.beta]: PER_AWARDEE, [account.gamma]: PER_AWARDEE });
    const assocIds = { alpha: await assocId(account.alpha), beta: await assocId(account.beta) };

    // Evaluation: models and scores rank alpha, beta, gamma.
    await waitForStage('evaluation', 60_000);
    const model = { alpha: [90, 9, 9], beta: [80, 8, 8], gamma: [70, 7, 7] } as const;
    for (const [team, org] of Object.entries(teams)) {
      await command('/models', applicant(org), { applicationId: team, round: 1, artifact: { uri: `s3://models/${team}/v1`, sha256: sha(team) } }, 201);
      for (const n of [1, 2]) {
        const [benchmarks, experts, users] = model[team as keyof typeof model];
        await command('/evaluation-scores', evaluator(n), { applicationId: team, round: 1, scores: { benchmarks, experts, users }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false } }, 201);
      }
    }

    // Narrowing keeps two; gamma waives its objection: it is eliminated and the finalists are extended.
    await waitForStage('narrowing', 90_000);
    expect(await command('/narrowing/approve', pm, { round: 1 }, 200)).toMatchObject({ events: ['TeamsNarrowed'], stage: 'objection' });
    const waived = await command('/objections/gamma/waive', applicant('org-c'), {}, 200);
    expect(waived).toMatchObject({ events: ['ObjectionWaived', 'ObjectionWindowClosed', 'TeamEliminated', 'GrantExtended', 'GrantExtended', 'ExtensionStarted'], stage: 'extension' });

    await withTrace(async () => {
      // gamma's account is removed from Slurm and its allocation released.
      await eventually('gamma released in Slurm and the ledger', async () => {
        const limits = await slurmGpuLimits(Object.values(account));
        const live = liveByGrant(await pool());
        return !(account.gamma in limits) && !live[grantId('gamma')];
      }, 120_000, 300);

      // Both finalists settle: nothing left for their grants to apply (keep polling Slurm meanwhile, for the trace).
      await eventually('the finalists\u2019 changes applied', async () => {
        await slurmGpuLimits([account.alpha, account.beta]);
        const rows = (await database.db.query(`SELECT idempotency_key, status FROM gpu_operations WHERE kind = 'change' AND (idempotency_key LIKE '%#realloc-%' OR idempotency_key LIKE '%#extend-%')`)) as { idempotency_key: string; status: string }[];
        const done = (key: string) => rows.some((r) => r.idempotency_key === key && r.status === 'done');
        return ['alpha', 'beta'].every((t) => done(`${grantId(t)}#realloc-1`) && done(`${grantId(t)}#extend-1`));
      }, 120_000, 300);

      // The pool read agrees with Slurm, grant by grant, and the capacity row holds their sum.
      const limits = await slurmGpuLimits([account.alpha, account.beta]);
      const read = await pool();
      const live = liveByGrant(read);
      expect({ alpha: live[grantId('alpha')]?.served?.count, beta: live[grantId('beta')]?.served?.count }).toEqual({ alpha: limits[account.alpha], beta: limits[account.beta] });
      expect(read.capacity.find((c) => c.id === 'slurm-h100')).toMatchObject({ count: CAPACITY, held: limits[account.alpha]! + limits[account.beta]! });

      // What Slurm itself recorded (sacctmgr show transactions), limit by limit, for each finalist:
      // the award, the extension with gpusPerFinalist, then gamma's share (PER_AWARDEE split in two).
      // The extension is applied first (gamma's release and report come after it), and the share is
      // added on top of the finalist's amount: PER_FINALIST + PER_AWARDEE / 2.
      const share = PER_AWARDEE / 2;
      expect(await slurmLimitHistory(assocIds.alpha)).toEqual([PER_AWARDEE, PER_FINALIST, PER_FINALIST + share]);
      expect(await slurmLimitHistory(assocIds.beta)).toEqual([PER_AWARDEE, PER_FINALIST, PER_FINALIST + share]);
      expect(limits).toEqual({ [account.alpha]: PER_FINALIST + share, [account.beta]: PER_FINALIST + share });
      // The ledger did the same, under the grants' own keys.
      const targets = (await database.db.query(
        `SELECT idempotency_key, (target->>'count')::int AS count FROM gpu_operations WHERE kind = 'change' AND status = 'done' AND (idempotency_key LIKE '%#realloc-%' OR idempotency_key LIKE '%#extend-%') ORDER BY finished_at`,
      )) as { idempotency_key: string; count: number }[];
      expect(Object.fromEntries(targets.map((t) => [t.idempotency_key, t.count]))).toEqual({
        [`${grantId('alpha')}#extend-1`]: PER_FINALIST,
        [`${grantId('beta')}#extend-1`]: PER_FINALIST,
        [`${grantId('alpha')}#realloc-1`]: PER_FINALIST + share,
        [`${grantId('beta')}#realloc-1`]: PER_FINALIST + share,
      });
    });

    // Cancel: every grant is released and its Slurm account removed.
    expect((await command('/cancel', pm, { reason: 'integration test over' }, 200)).events).toEqual(['CycleCancelled']);
    let left = '';
    try {
      await eventually('every allocation released and every account removed from Slurm', async () => {
        const limits = await slurmGpuLimits(Object.values(account));
        const live = (await pool()).allocations.live;
        left = `Slurm ${JSON.stringify(limits)}; live ${JSON.stringify(live.map((a) => [a.grantId, a.status]))}`;
        return Object.keys(limits).length === 0 && live.length === 0;
      }, 120_000, 500);
    } catch (error) {
      const client = new Client({ connection: connection! });
      const workflows: string[] = [];
      for await (const w of client.workflow.list({ query: `TaskQueue = '${taskQueue}'` })) workflows.push(`${w.workflowId} ${w.status.name}`);
      const ops = (await database.db.query(`SELECT idempotency_key, kind, status FROM gpu_operations WHERE kind <> 'meter' ORDER BY started_at`)) as object[];
      throw new Error(`${(error as Error).message}\n${left}\nworkflows: ${workflows.join('; ')}\noperations: ${JSON.stringify(ops)}`, { cause: error });
    }
  }, 20 * 60_000);
});

interface PoolRead {
  policy: { version: number; document: { reallocation: string } };
  capacity: { id: string; count: number; held: number }[];
  allocations: {
    live: { grantId: string; status: string; served: { type: string; count: number; capacityId: string } | null; account: { provider: string; cluster: string; account: string } | null; policyVersion: number }[];
  };
}
