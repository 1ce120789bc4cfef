import type { DataSource } from 'typeorm';
import { canonicalJson } from '@concentra/domain';
import type { MeterUsageInput, MeterUsageResult, UsageMode, UsageThreshold } from './gpu.activities';
import { readPolicy } from './gpu-ledger.capacity';
import { validateKeyAndGrant } from './gpu-ledger.inputs';
import { outbox } from './gpu-ledger.outbox';
import { gpuStreamId, keyConflict, lockGrant, operationByKey, round, sha256, txNow, type Row } from './gpu-ledger.rows';
import { crossedThresholds, strongestAction } from './policy';
import type { GpuProviders } from './providers/gpu-provider';

/** What metering needs from the ledger. */
export interface MeteringDeps {
  db: DataSource;
  providers: GpuProviders;
  clock: () => Date;
  flush(streamId: string): Promise<void>;
}

/**
 * Metering: GPU-hours used (read from the provider outside any transaction) against the granted
 * budget, the thresholds crossed (new ones reported once), and the action the workflow should take.
 * A reading that changes nothing is kept as the operation's result only: no sample, no event.
 */
export async function meterUsage(deps: MeteringDeps, input: MeterUsageInput): Promise<MeterUsageResult> {
  validateKeyAndGrant(input);
  const inputHash = sha256(canonicalJson({ grantId: input.grantId, thresholds: input.thresholds ?? null }));
  const [op] = (await deps.db.query('SELECT * FROM gpu_operations WHERE idempotency_key = $1', [input.idempotencyKey])) as Row[];
  if (op) {
    if ((op.input_hash as string).trim() !== inputHash || op.kind !== 'meter') throw keyConflict(input.idempotencyKey);
    if (op.status === 'done') {
      await deps.flush(gpuStreamId(input.grantId));
      return op.result as MeterUsageResult;
    }
  }
  const [alloc] = (await deps.db.query('SELECT * FROM gpu_allocations WHERE grant_id = $1 ORDER BY requested_at DESC LIMIT 1', [input.grantId])) as Row[];
  let measured: number | null = null;
  if (alloc && (alloc.status === 'active' || alloc.status === 'reserved') && alloc.account) {
    const provider = deps.providers.get(alloc.provider as string);
    measured = (await provider.usage({ cluster: alloc.cluster as string, account: alloc.account as string }, alloc.window_from as Date, deps.clock())).gpuMinutes;
  }
  const { policy } = await readPolicy(deps.db);
  const thresholds: UsageThreshold[] = input.thresholds ?? policy.thresholds;

  const result = await deps.db.transaction(async (tx) => {
    await lockGrant(tx, input.grantId);
    const existing = await operationByKey(tx, input.idempotencyKey, input.grantId, 'meter', inputHash);
    if (existing?.status === 'done') return existing.result as MeterUsageResult;
    const now = await txNow(tx);
    if (!alloc) {
      const empty: MeterUsageResult = { grantId: input.grantId, allocationId: null, measuredAt: now.toISOString(), gpuHoursUsed: 0, gpuHoursGranted: null, fractionUsed: null, crossed: [], newlyCrossed: [], action: 'none' };
      await tx.query(
        `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, status, result, started_at, finished_at) VALUES ($1, $2, 'meter', $3, 'done', $4, $5, $5)`,
        [input.idempotencyKey, input.grantId, inputHash, empty, now],
      );
      return empty;
    }
    const [current] = (await tx.query(
      'SELECT a.*, EXISTS (SELECT 1 FROM gpu_usage_samples s WHERE s.allocation_id = a.id) AS last_sampled FROM gpu_allocations a WHERE a.id = $1 FOR UPDATE OF a',
      [alloc.id],
    )) as Row[];
    const usedMinutes = Math.max(current.gpu_minutes_used as number, measured ?? 0);
    const budget = current.gpu_minutes as number | null;
    // A zero budget that is used counts as fully spent.
    const fraction = budget === null ? null : budget === 0 ? (usedMinutes > 0 ? 1 : 0) : usedMinutes / budget;
    const crossed = crossedThresholds(fraction, thresholds);
    const before = (current.thresholds_crossed as UsageThreshold[]) ?? [];
    const key = (t: UsageThreshold) => `${t.atFraction}:${t.action}`;
    const newly = crossed.filter((t) => !before.some((b) => key(b) === key(t)));
    const mode = current.mode as UsageMode;
    const strongest = strongestAction(crossed);
    const applied = (a: string) => (a === 'throttle' && (mode === 'throttled' || mode === 'suspended')) || (a === 'suspend' && mode === 'suspended');
    const action: MeterUsageResult['action'] =
      strongest !== 'none' && strongest !== 'warn' && !applied(strongest) ? strongest : newly.some((t) => t.action === 'warn') ? 'warn' : 'none';
    const r: MeterUsageResult = {
      grantId: input.grantId,
      allocationId: current.id as string,
      measuredAt: now.toISOString(),
      gpuHoursUsed: round(usedMinutes / 60),
      gpuHoursGranted: budget === null ? null : round(budget / 60),
      fractionUsed: fraction === null ? null : round(fraction),
      crossed,
      newlyCrossed: newly,
      action,
    };
    await tx.query(`UPDATE gpu_allocations SET gpu_minutes_used = $2, thresholds_crossed = $3, updated_at = $4 WHERE id = $1`, [
      current.id, usedMinutes, JSON.stringify([...before, ...newly]), now,
    ]);
    // A reading that changes nothing (same usage, no threshold) is kept as the operation's result only:
    // no sample, no event, so daily metering of an idle grant does not flood the history.
    const changed = usedMinutes !== (current.gpu_minutes_used as number) || newly.length > 0 || (current.last_sampled as boolean) !== true;
    if (current.capacity_id && changed) {
      await tx.query(
        `INSERT INTO gpu_usage_samples (idempotency_key, allocation_id, grant_id, gpu_type, site, measured_at, gpu_minutes_used) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [input.idempotencyKey, current.id, input.grantId, current.gpu_type, current.site, now, usedMinutes],
      );
    }
    await tx.query(
      `INSERT INTO gpu_operations (idempotency_key, grant_id, kind, input_hash, allocation_id, status, result, started_at, finished_at) VALUES ($1, $2, 'meter', $3, $4, 'done', $5, $6, $6)`,
      [input.idempotencyKey, input.grantId, inputHash, current.id, r, now],
    );
    const stream = gpuStreamId(input.grantId);
    if (changed) await outbox(tx, stream, `${input.idempotencyKey}:GpuUsageMetered`, 'GpuUsageMetered', {
      allocationId: current.id, grantId: input.grantId, gpuHoursUsed: r.gpuHoursUsed, gpuHoursGranted: r.gpuHoursGranted, fractionUsed: r.fractionUsed, measuredAt: r.measuredAt,
    }, { idempotencyKey: input.idempotencyKey }, now);
    for (const t of newly) {
      await outbox(tx, stream, `${input.idempotencyKey}:GpuUsageThresholdCrossed:${key(t)}`, 'GpuUsageThresholdCrossed', {
        allocationId: current.id, grantId: input.grantId, threshold: t, gpuHoursUsed: r.gpuHoursUsed, gpuHoursGranted: r.gpuHoursGranted,
      }, { idempotencyKey: input.idempotencyKey }, now);
    }
    return r;
  });
  await deps.flush(gpuStreamId(input.grantId));
  return result;
}
