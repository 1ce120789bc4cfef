import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { effectiveGpus, type GpuProvider, type ProviderAccount, type ProviderAccountSpec, type ProviderUsage } from './gpu-provider';

/**
 * A provider with no scheduler behind it: the account and its limits are rows in PostgreSQL
 * (`gpu_ledger_accounts`). For capacity handed out by hand (a lessor that gives out logins) and
 * for workflow scenarios that need the real activities without a cluster. Usage is never measured.
 */
export class LedgerProvider implements GpuProvider {
  readonly name = 'ledger';

  constructor(private readonly db: DataSource) {}

  accountName(allocationId: string): string {
    return `cg_${createHash('sha256').update(allocationId).digest('hex').slice(0, 16)}`;
  }

  async accountExists(ref: ProviderAccount): Promise<boolean> {
    const rows = await this.db.query('SELECT 1 FROM gpu_ledger_accounts WHERE cluster = $1 AND account = $2', [ref.cluster, ref.account]);
    return rows.length > 0;
  }

  async ensureAccount(spec: ProviderAccountSpec): Promise<{ created: boolean }> {
    const rows = (await this.db.query(
      `INSERT INTO gpu_ledger_accounts (cluster, account, grant_id, limits) VALUES ($1, $2, $3, $4)
       ON CONFLICT (cluster, account) DO NOTHING RETURNING account`,
      [spec.cluster, spec.account, spec.grantId, limits(spec)],
    )) as unknown[];
    if (rows.length === 0) await this.changeLimits(spec);
    return { created: rows.length > 0 };
  }

  async changeLimits(spec: ProviderAccountSpec): Promise<void> {
    await this.db.query('UPDATE gpu_ledger_accounts SET limits = $3, updated_at = now() WHERE cluster = $1 AND account = $2', [
      spec.cluster,
      spec.account,
      limits(spec),
    ]);
  }

  async removeAccount(ref: ProviderAccount): Promise<{ removed: boolean }> {
    const rows = (await this.db.query('DELETE FROM gpu_ledger_accounts WHERE cluster = $1 AND account = $2 RETURNING account', [
      ref.cluster,
      ref.account,
    ])) as [unknown[], number] | unknown[];
    const deleted = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length : rows.length;
    return { removed: deleted > 0 };
  }

  async usage(): Promise<ProviderUsage> {
    return { gpuMinutes: 0, jobs: 0 };
  }
}

function limits(spec: ProviderAccountSpec) {
  return JSON.stringify({ gpuType: spec.gpuType, gpus: effectiveGpus(spec), gpuMinutes: spec.gpuMinutes, mode: spec.mode, users: spec.users });
}
