import { randomBytes } from 'node:crypto';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { GpuLedger, GpuProviders, GpuProvisioningActivities, SlurmProvider, gpuStreamId } from '@concentra/gpu';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startSlurm, type SlurmCluster } from '../../../test/support/slurm';

/**
 * Real Slurm (tools/slurm/slurm.sh): a grant becomes a Slurm account whose association limits
 * GPUs; extension, throttle and release change it with sacctmgr; a job run under the account
 * reaches the ledger through meterUsage. If Slurm cannot start, beforeAll throws: the tests fail.
 */
describe('GPU provisioning on real Slurm', () => {
  let slurm: SlurmCluster;
  let database: TestDatabase;
  let store: EventStore;
  let provider: SlurmProvider;
  let gpu: GpuProvisioningActivities;
  const run = randomBytes(3).toString('hex');
  const grantId = `grant:slurm-${run}:2027:team-a`;

  const assoc = async (account: string) => {
    const out = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `account=${account}`, 'format=account,user,grptres,grptresmins,qos,defaultqos']);
    expect(out.code).toBe(0);
    return out.stdout.split('\n').filter(Boolean).map((l) => {
      const [acct, user, grpTres, grpTresMins, qos, defaultQos] = l.split('|');
      return { account: acct, user, grpTres, grpTresMins, qos, defaultQos };
    });
  };

  beforeAll(async () => {
    slurm = await startSlurm();
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
    provider = new SlurmProvider({ slurmConf: slurm.slurmConf });
    const ledger = new GpuLedger(database.db, store, new GpuProviders([provider]));
    gpu = new GpuProvisioningActivities(ledger);
    await ledger.registerCapacity(
      { id: 'local-h100', site: 'local', cluster: slurm.cluster, provider: 'slurm', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2020-01-01T00:00:00Z' },
      { role: 'admin', subject: 'test' },
    );
  }, 25 * 60_000);

  afterAll(async () => {
    // Leave nothing behind in Slurm even when an assertion failed half-way.
    const rows = database ? ((await database.db.query('SELECT account FROM gpu_allocations WHERE grant_id = $1 AND account IS NOT NULL', [grantId])) as { account: string }[]) : [];
    for (const { account } of rows) await provider.removeAccount({ cluster: slurm.cluster, account }).catch(() => undefined);
    await database?.drop();
  });

  it('award → account with GPU limits; extension, throttle and suspension change it; a job’s usage is metered; release removes it', async () => {
    const from = new Date(Date.now() - 60_000).toISOString();
    const to = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
    const provisioned = await gpu.provisionGrant({
      idempotencyKey: `${grantId}#provision`,
      grantId,
      organisationId: 'org-a',
      request: { alternatives: [{ type: 'H100', count: 4 }] },
      window: { from, to },
      gpuMinutes: 600,
      users: ['root'],
    });
    expect(provisioned).toMatchObject({ status: 'active', served: { type: 'H100', count: 4, site: 'local' }, account: { provider: 'slurm', cluster: slurm.cluster } });
    const account = provisioned.status === 'active' ? provisioned.account.account : '';
    expect(account).toBe(provider.accountName(provisioned.allocationId));
    expect(await assoc(account)).toEqual([
      { account, user: '', grpTres: 'gres/gpu=4', grpTresMins: 'gres/gpu=600', qos: 'normal', defaultQos: 'normal' },
      { account, user: 'root', grpTres: '', grpTresMins: '', qos: 'normal', defaultQos: 'normal' },
    ]);
    const described = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'account', account, 'format=account,descr,org']);
    expect(described.stdout.trim()).toBe(`${account}|${grantId}|org-a`);

    // Extension with more GPUs and a larger budget.
    const newEnd = new Date(Date.now() + 60 * 24 * 3600_000).toISOString();
    const extended = await gpu.changeGrant({ idempotencyKey: `${grantId}#extend-1`, grantId, extendTo: newEnd, limits: { gpus: 6, gpuMinutes: 1200 } });
    expect(extended).toMatchObject({ outcome: 'changed', allocation: { window: { to: newEnd }, served: { count: 6 }, gpuMinutes: 1200 } });
    expect((await assoc(account))[0]).toMatchObject({ grpTres: 'gres/gpu=6', grpTresMins: 'gres/gpu=1200' });

    // Throttle through a QOS of its own (half the GPUs), then back to normal.
    await gpu.changeGrant({ idempotencyKey: `${grantId}#throttle-1`, grantId, mode: 'throttled' });
    const qosName = provider.throttleQos(account);
    expect((await assoc(account))[0]).toMatchObject({ grpTres: 'gres/gpu=6', qos: qosName, defaultQos: qosName });
    const qos = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'qos', qosName, 'format=name,grptres']);
    expect(qos.stdout.trim()).toBe(`${qosName}|gres/gpu=3`);
    // Slurm enforces it: a 4-GPU job under the throttled account waits on the QOS limit.
    const submitted = await slurm.run('sbatch', ['--parsable', `--account=${account}`, '--gres=gpu:4', '--time=1', '--output=/dev/null', '--wrap=sleep 1']);
    expect(submitted).toMatchObject({ code: 0 });
    const jobId = submitted.stdout.trim().split(';')[0];
    let reason = '';
    for (let i = 0; i < 120 && reason !== 'PENDING|QOSGrpGRES'; i += 1) {
      reason = (await slurm.run('squeue', ['-h', '-j', jobId, '-o', '%T|%r'])).stdout.trim();
      if (reason !== 'PENDING|QOSGrpGRES') await new Promise((r) => setTimeout(r, 250));
    }
    expect(reason).toBe('PENDING|QOSGrpGRES');
    expect(await slurm.run('scancel', [jobId])).toMatchObject({ code: 0 });
    // Suspension: no GPUs, no budget, no jobs; then back to normal with the granted limits.
    await gpu.changeGrant({ idempotencyKey: `${grantId}#throttle-2`, grantId, mode: 'suspended' });
    expect((await assoc(account))[0]).toMatchObject({ grpTres: 'gres/gpu=0', grpTresMins: 'gres/gpu=0', qos: 'normal' });
    const jobs = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `account=${account}`, 'user=', 'format=grpjobs']);
    expect(jobs.stdout.trim()).toBe('0');
    await gpu.changeGrant({ idempotencyKey: `${grantId}#throttle-3`, grantId, mode: 'normal' });
    expect((await assoc(account))[0]).toMatchObject({ grpTres: 'gres/gpu=6', grpTresMins: 'gres/gpu=1200', qos: 'normal', defaultQos: 'normal' });

    // A real job under the account with 2 (fake) GPUs; its usage reaches the ledger.
    const job = await slurm.run('srun', [`--account=${account}`, '--gres=gpu:2', '--time=1', '--job-name=concentra-meter', 'sleep', '3'], { timeoutSeconds: 180 });
    expect(job).toMatchObject({ code: 0 });
    let metered = await gpu.meterUsage({ idempotencyKey: `${grantId}#meter-1`, grantId });
    // Accounting records the finished job asynchronously: poll (bounded) with fresh metering steps.
    for (let i = 2; metered.gpuHoursUsed === 0 && i <= 120; i += 1) {
      await new Promise((r) => setTimeout(r, 500));
      metered = await gpu.meterUsage({ idempotencyKey: `${grantId}#meter-${i}`, grantId });
    }
    // 2 GPUs for at least 3 s = at least 6 GPU-seconds.
    expect(metered.gpuHoursUsed * 3600).toBeGreaterThanOrEqual(6);
    expect(metered).toMatchObject({ gpuHoursGranted: 20, action: 'none' });
    const [row] = await database.db.query('SELECT gpu_minutes_used FROM gpu_allocations WHERE grant_id = $1', [grantId]);
    expect(row.gpu_minutes_used * 60).toBeGreaterThanOrEqual(6);

    // Release removes the account (and its throttle QOS); twice is once.
    const released = await gpu.releaseGrant({ idempotencyKey: `${grantId}#release`, grantId, reason: 'ended' });
    expect(released).toMatchObject({ released: true, freed: { type: 'H100', count: 6 } });
    expect(released.gpuMinutesUsed * 60).toBeGreaterThanOrEqual(6);
    expect(await assoc(account)).toEqual([]);
    expect((await slurm.run('sacctmgr', ['-n', '-P', 'show', 'account', account, 'format=account'])).stdout.trim()).toBe('');
    expect((await slurm.run('sacctmgr', ['-n', '-P', 'show', 'qos', qosName, 'format=name'])).stdout.trim()).toBe('');
    expect(await gpu.releaseGrant({ idempotencyKey: `${grantId}#release`, grantId, reason: 'ended' })).toEqual(released);
    expect(await gpu.releaseGrant({ idempotencyKey: `${grantId}#release-cancelled`, grantId, reason: 'cancelled' })).toMatchObject({ released: false });

    const types = (await store.readStream(gpuStreamId(grantId))).map((e) => e.type);
    expect(types.slice(0, 6)).toEqual(['GpusReserved', 'GpusAllocated', ...Array(4).fill('GpuAllocationChanged')]);
    expect(types.filter((t) => t === 'GpuUsageMetered').length).toBeGreaterThanOrEqual(1);
    expect(types.at(-1)).toBe('GpusReleased');
  }, 10 * 60_000);
});
