import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { EventStore, PersistenceModule } from '@concentra/persistence';
import { GpuLedger } from './gpu-ledger';
import { GpuPoolReads } from './gpu-pool.reads';
import { GpuProvisioningActivities } from './gpu-provisioning.activities';
import { GpuProviders } from './providers/gpu-provider';
import { LedgerProvider } from './providers/ledger.provider';
import { SlurmProvider } from './providers/slurm.provider';

/** The Slurm client settings, from the environment (`tools/slurm/slurm.sh env` prints them for the local cluster). */
export const GpuEnvironmentSchema = z.object({
  SLURM_CONF: z.string().min(1).optional(),
  SLURM_BIN_DIR: z.string().min(1).optional(),
  SLURM_COMMAND_TIMEOUT_SECONDS: z.coerce.number().int().positive().default(60),
});

export function gpuProvidersFromEnvironment(db: DataSource, source: NodeJS.ProcessEnv = process.env): GpuProviders {
  const env = GpuEnvironmentSchema.parse({
    SLURM_CONF: source.SLURM_CONF || undefined,
    SLURM_BIN_DIR: source.SLURM_BIN_DIR || undefined,
    SLURM_COMMAND_TIMEOUT_SECONDS: source.SLURM_COMMAND_TIMEOUT_SECONDS || undefined,
  });
  return new GpuProviders([
    new SlurmProvider({ slurmConf: env.SLURM_CONF, binDir: env.SLURM_BIN_DIR, timeoutSeconds: env.SLURM_COMMAND_TIMEOUT_SECONDS }),
    new LedgerProvider(db),
  ]);
}

/** The GPU pool: ledger, providers, activities (bound by the worker) and reads (served by the API). */
@Module({
  imports: [PersistenceModule],
  providers: [
    { provide: GpuProviders, inject: [DataSource], useFactory: (db: DataSource) => gpuProvidersFromEnvironment(db) },
    {
      provide: GpuLedger,
      inject: [DataSource, EventStore, GpuProviders],
      useFactory: (db: DataSource, events: EventStore, providers: GpuProviders) => new GpuLedger(db, events, providers),
    },
    { provide: GpuProvisioningActivities, inject: [GpuLedger], useFactory: (ledger: GpuLedger) => new GpuProvisioningActivities(ledger) },
    { provide: GpuPoolReads, inject: [DataSource], useFactory: (db: DataSource) => new GpuPoolReads(db) },
  ],
  exports: [GpuLedger, GpuProvisioningActivities, GpuPoolReads, GpuProviders],
})
export class GpuModule {}
