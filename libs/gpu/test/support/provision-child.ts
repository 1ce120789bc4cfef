/**
 * Runs one GPU activity (GPU_TEST_ACTIVITY: provisionGrant or releaseGrant) in its own process, as a
 * worker would, against real PostgreSQL and real Slurm. With GPU_TEST_CRASH_AT=after-provider-account
 * (or after-provider-remove) the process kills itself (SIGKILL: no cleanup, no finally) right after
 * Slurm has the account (or has removed it) and before the ledger records it: the crash the retry must
 * recover from. Input: GPU_TEST_INPUT (JSON); output: the result as JSON.
 */
import 'reflect-metadata';
import { createDataSource, EventStore, PROJECTIONS } from '@concentra/persistence';
import { GpuLedger } from '../../src/gpu-ledger';
import { GpuProvisioningActivities } from '../../src/gpu-provisioning.activities';
import { GpuProviders } from '../../src/providers/gpu-provider';
import { SlurmProvider } from '../../src/providers/slurm.provider';

async function main(): Promise<void> {
  const db = await createDataSource(process.env.DATABASE_URL as string, { applicationName: 'concentra-gpu-child' }).initialize();
  const ledger = new GpuLedger(db, new EventStore(db, PROJECTIONS), new GpuProviders([new SlurmProvider({ slurmConf: process.env.SLURM_CONF })]), {
    faults: {
      afterProviderAccount: () => {
        if (process.env.GPU_TEST_CRASH_AT === 'after-provider-account') process.kill(process.pid, 'SIGKILL');
      },
      afterProviderRemove: () => {
        if (process.env.GPU_TEST_CRASH_AT === 'after-provider-remove') process.kill(process.pid, 'SIGKILL');
      },
    },
  });
  const activities = new GpuProvisioningActivities(ledger);
  const input = JSON.parse(process.env.GPU_TEST_INPUT as string);
  const result = process.env.GPU_TEST_ACTIVITY === 'releaseGrant' ? await activities.releaseGrant(input) : await activities.provisionGrant(input);
  process.stdout.write(JSON.stringify(result));
  await db.destroy();
}

main().catch((error: Error) => {
  process.stderr.write(`${error.stack ?? error.message}\n`);
  process.exit(1);
});
