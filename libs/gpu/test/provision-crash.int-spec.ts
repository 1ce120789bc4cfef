import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { GpuLedger, GpuProviders, SlurmProvider, gpuStreamId, type ProvisionGrantInput, type ReleaseGrantInput } from '@concentra/gpu';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { startSlurm, type SlurmCluster } from '../../../test/support/slurm';

/**
 * The provisioning activity runs in a real child process that is killed (SIGKILL) between creating
 * the Slurm account and recording it in the ledger; the retry (a new process, as Temporal would
 * schedule) ends with one Slurm account and one allocation. Real PostgreSQL and real Slurm.
 */
describe('GPU provisioning survives a crash between Slurm and the ledger', () => {
  let slurm: SlurmCluster;
  let database: TestDatabase;
  let provider: SlurmProvider;
  const run = randomBytes(3).toString('hex');
  const grantId = `grant:crash-${run}:2027:team-c`;

  const child = (input: ProvisionGrantInput | ReleaseGrantInput, crash: false | 'after-provider-account' | 'after-provider-remove') =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve, reject) => {
      const proc = spawn(process.execPath, ['-r', join(__dirname, 'support', 'register-ts.js'), join(__dirname, 'support', 'provision-child.ts')], {
        env: {
          ...process.env,
          ...slurm.env,
          DATABASE_URL: database.url,
          GPU_TEST_INPUT: JSON.stringify(input),
          GPU_TEST_ACTIVITY: 'request' in input ? 'provisionGrant' : 'releaseGrant',
          GPU_TEST_CRASH_AT: crash || '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      proc.on('error', reject);
      proc.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    });

  const accountsOfGrant = async () => {
    const out = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'account', 'format=account,descr']);
    expect(out.code).toBe(0);
    return out.stdout.split('\n').filter((l) => l.endsWith(`|${grantId}`)).map((l) => l.split('|')[0]);
  };

  beforeAll(async () => {
    slurm = await startSlurm();
    database = await createTestDatabase();
    provider = new SlurmProvider({ slurmConf: slurm.slurmConf });
    const ledger = new GpuLedger(database.db, new EventStore(database.db, PROJECTIONS), new GpuProviders([provider]));
    await ledger.registerCapacity(
      { id: 'crash-h100', site: 'local', cluster: slurm.cluster, provider: 'slurm', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2020-01-01T00:00:00Z' },
      { role: 'admin', subject: 'test' },
    );
  }, 25 * 60_000);

  afterAll(async () => {
    const rows = database ? ((await database.db.query('SELECT account FROM gpu_allocations WHERE grant_id = $1 AND account IS NOT NULL', [grantId])) as { account: string }[]) : [];
    for (const { account } of rows) await provider.removeAccount({ cluster: slurm.cluster, account }).catch(() => undefined);
    await database?.drop();
  });

  it('killed after the account exists, retried: one Slurm account, one allocation; killed mid-release, retried: released once', async () => {
    const input: ProvisionGrantInput = {
      idempotencyKey: `${grantId}#provision`,
      grantId,
      organisationId: 'org-c',
      request: { alternatives: [{ type: 'H100', count: 2 }] },
      window: { from: '2027-01-01T00:00:00.000Z', to: '2027-07-01T00:00:00.000Z' },
      gpuMinutes: 1000,
    };
    const crashed = await child(input, 'after-provider-account');
    expect({ signal: crashed.signal, stderr: crashed.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });

    // The crash left the account in Slurm and the intent, not the activation, in the ledger.
    const [{ id: allocationId }] = await database.db.query('SELECT id FROM gpu_allocations WHERE grant_id = $1', [grantId]);
    const account = provider.accountName(allocationId);
    expect(await accountsOfGrant()).toEqual([account]);
    const before = await database.db.query('SELECT status, account FROM gpu_allocations WHERE grant_id = $1', [grantId]);
    expect(before).toEqual([{ status: 'reserved', account }]);

    // The retry, in a new process, with the same idempotency key.
    const retried = await child(input, false);
    expect(retried).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(retried.stdout)).toMatchObject({ status: 'active', account: { account }, served: { type: 'H100', count: 2 } });

    expect(await accountsOfGrant()).toEqual([account]);
    const assoc = await slurm.run('sacctmgr', ['-n', '-P', 'show', 'assoc', 'where', `account=${account}`, 'format=account,user,grptres,grptresmins']);
    expect(assoc.stdout.trim().split('\n')).toEqual([`${account}||gres/gpu=2|gres/gpu=1000`]);
    expect(await database.db.query('SELECT status FROM gpu_allocations WHERE grant_id = $1', [grantId])).toEqual([{ status: 'active' }]);
    const types = (await new EventStore(database.db).readStream(gpuStreamId(grantId))).map((e) => e.type);
    expect(types).toEqual(['GpusReserved', 'GpusAllocated']);

    // A third call (a late duplicate) changes nothing.
    const again = await child(input, false);
    expect(JSON.parse(again.stdout)).toEqual(JSON.parse(retried.stdout));
    expect(await accountsOfGrant()).toEqual([account]);

    // Release killed after Slurm removed the account, before the ledger recorded it; retried: released once.
    const release: ReleaseGrantInput = { idempotencyKey: `${grantId}#release`, grantId, reason: 'cancelled' };
    const killed = await child(release, 'after-provider-remove');
    expect({ signal: killed.signal, stderr: killed.stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    expect(await accountsOfGrant()).toEqual([]);
    expect(await database.db.query('SELECT status FROM gpu_allocations WHERE grant_id = $1', [grantId])).toEqual([{ status: 'active' }]);
    const releasedOnce = await child(release, false);
    expect(releasedOnce).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(releasedOnce.stdout)).toMatchObject({ released: true, freed: { type: 'H100', count: 2 } });
    expect(await database.db.query('SELECT status, released_reason FROM gpu_allocations WHERE grant_id = $1', [grantId])).toEqual([
      { status: 'released', released_reason: 'cancelled' },
    ]);
    const after = (await new EventStore(database.db).readStream(gpuStreamId(grantId))).map((e) => e.type);
    expect(after).toEqual(['GpusReserved', 'GpusAllocated', 'GpusReleased']);
  }, 10 * 60_000);
});
