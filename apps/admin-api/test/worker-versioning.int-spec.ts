import { randomBytes } from 'node:crypto';
import type { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { temporal } from '@temporalio/proto';
import { WorkerHost } from '@concentra/temporal';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { WorkerModule } from '../../worker/src/worker.module';
import { applicant, company, eventually, expectStatus, panel, pm, shortPolicy, startHarness, type Harness } from './cycle-commands.support';

/**
 * A rolling deploy under Worker Deployment Versioning (pinned), on the real dev server: release A
 * (build id = its bundle's hash) makes itself current; a cycle starts on it; release B comes up and
 * makes itself current; new cycles run on B while the cycle started on A keeps running on A (its
 * commands still answered); and an A worker restarting late does not take the place back.
 */
const PINNED = temporal.api.enums.v1.VersioningBehavior.VERSIONING_BEHAVIOR_PINNED;

describe('worker deployment versions across a rolling deploy', () => {
  const deployment = `concentra-test-${randomBytes(3).toString('hex')}`;
  const VARIABLES = ['WORKER_VERSIONING', 'WORKER_DEPLOYMENT_NAME', 'WORKER_BUILD_ID'] as const;
  const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]));
  const extra: INestApplicationContext[] = [];
  let h: Harness;

  const versionOf = (app: INestApplicationContext) => app.get(WorkerHost).versioning;
  const promoted = (app: INestApplicationContext) =>
    eventually('the promotion to finish', async () => (versionOf(app)?.promotion !== 'pending' ? versionOf(app) : undefined), 60_000);
  async function startWorker(buildId?: string): Promise<INestApplicationContext> {
    if (buildId) process.env.WORKER_BUILD_ID = buildId;
    else delete process.env.WORKER_BUILD_ID;
    const app = await NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn'] });
    extra.push(app);
    await app.init();
    return app;
  }
  async function startCycle(slug: string): Promise<string> {
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: `Programme ${slug}`, policy: shortPolicy() }), 201);
    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2027, panel }), 201);
    const id = cycleWorkflowId(slug, 2027);
    await eventually('the call to open', async () => (await h.http().get(`/v1/cycles/${id}`).set('Authorization', pm)).body.live?.stage === 'call', 60_000);
    return id;
  }
  const runsOn = async (id: string) => (await h.client.workflow.getHandle(id).describe()).raw.workflowExecutionInfo?.versioningInfo;
  const current = async () =>
    (await h.client.workflowService.describeWorkerDeployment({ namespace: 'default', deploymentName: deployment })).workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId;

  beforeAll(async () => {
    Object.assign(process.env, { WORKER_VERSIONING: 'pinned', WORKER_DEPLOYMENT_NAME: deployment });
    delete process.env.WORKER_BUILD_ID;
    h = await startHarness(`versioned-${deployment}`);
  });
  afterAll(async () => {
    for (const app of extra) await app.close(); // before the harness drops the database they use
    await h?.close();
    for (const name of VARIABLES) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  it('routes old cycles to the release they started on and new ones to the current release', async () => {
    // Release A: its build id is the hash of the workflow bundle, and it made itself current.
    const a = await promoted(h.worker);
    expect(a).toMatchObject({ version: expect.stringMatching(new RegExp(`^${deployment}\\.bundle-[0-9a-f]{16}$`)), behavior: 'PINNED', promotion: 'current' });
    const buildA = a.version.slice(deployment.length + 1);
    expect(await current()).toBe(buildA);
    const early = await startCycle(`early-${deployment}`);
    expect(await runsOn(early)).toMatchObject({ behavior: PINNED, deploymentVersion: { deploymentName: deployment, buildId: buildA } });

    // Release B comes up beside A and becomes current.
    const b = await startWorker('release-b');
    expect(await promoted(b)).toMatchObject({ version: `${deployment}.release-b`, promotion: 'current' });
    expect(await current()).toBe('release-b');
    const late = await startCycle(`late-${deployment}`);
    expect(await runsOn(late)).toMatchObject({ behavior: PINNED, deploymentVersion: { buildId: 'release-b' } });

    // The cycle started on A is still served by A: a command to it is applied, and it stays pinned there.
    const application = { applicationId: 'alpha', title: 'Alpha', lead: company('org-a') };
    expectStatus(await h.http().post(`/v1/cycles/${early}/applications`).set('Authorization', applicant('org-a')).send(application), 201);
    expect(await runsOn(early)).toMatchObject({ deploymentVersion: { buildId: buildA } });
    expect(await h.eventCount(early)).toBeGreaterThan(1);

    // An A worker starting late (a restarted pod of the old release) does not take the place back.
    const restarted = await startWorker(buildA);
    expect(await promoted(restarted)).toMatchObject({ promotion: 'newer-is-current', reason: 'release-b is newer' });
    expect(await current()).toBe('release-b');
  });
});
