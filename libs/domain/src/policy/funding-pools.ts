/**
 * Budgets and pools (issue 15, item 4), the policy part: a selection's awards drawn from several
 * funding pools, each with its own budget in GPUs or GPU-hours, with caps on concentration. Absent
 * = the selection proposes the top `maxAwardees` (or by `fundingTiers`) at the grant stage's amounts,
 * as before. The rule itself is in cycle/funding-pools.ts.
 */
import { z } from 'zod';
import type { DomainIssue } from '../shared/errors';
import { isIsoInstant } from '../shared/time';

const id = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, "-" or "_"');
const positive = z.number().int('must be a whole number').min(1, 'must be at least 1');

/** An application's region (optional on the application): the same form as every other id. */
export const REGION_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** A pool's budget: GPUs (each award costs its GPU count) or GPU-hours (its GPU count times the grant period's hours). */
export const PoolBudgetSchema = z.union([z.strictObject({ gpus: positive }), z.strictObject({ gpuHours: positive })]);

export const FundingPoolSchema = z.strictObject({
  id,
  budget: PoolBudgetSchema,
  /**
   * Who draws from this pool: leads of these organisation types, applications of these regions
   * (each absent = any). An application draws from the first pool it matches, in the policy's order;
   * one that matches none is not funded (`no_pool`).
   */
  leadTypes: z.array(id).min(1, 'at least one type, or leave it out').optional(),
  regions: z.array(id).min(1, 'at least one region, or leave it out').optional(),
  /** The GPU type this pool's awards are provisioned in; absent = the grant stage's `gpusPerAwardee` types, scaled. */
  gpuType: z.string().trim().min(1, 'must not be empty').optional(),
});

export const FundingPoolsSchema = z.strictObject({
  pools: z.array(FundingPoolSchema).min(1, 'at least one pool').max(20, 'at most 20 pools'),
  /**
   * What an applicant the budget cannot fully pay gets: `full_or_nothing` (nothing; the pool stops
   * awarding) or `partial` (what is left, if at least `minimumAward` GPUs; then the pool stops).
   */
  award: z.enum(['full_or_nothing', 'partial']),
  /** With `partial`: the smallest award worth making, in GPUs; absent = 1. */
  minimumAward: positive.optional(),
  /** Concentration caps in GPUs over the whole call (all pools): per lead organisation, per region (applications that name one). */
  caps: z.strictObject({ perOrganisation: positive.optional(), perRegion: positive.optional() }).optional(),
});

export type FundingPoolsPolicy = z.infer<typeof FundingPoolsSchema>;
export type FundingPool = z.infer<typeof FundingPoolSchema>;
export type PoolBudget = z.infer<typeof PoolBudgetSchema>;

/** Cross-field checks of a selection's pools; `grantDuration` is the grant stage's `duration`. */
export function fundingPoolIssues(pools: FundingPoolsPolicy, base: string, grantDuration: number | string | undefined): DomainIssue[] {
  const issues: DomainIssue[] = [];
  const seen = new Set<string>();
  pools.pools.forEach((p, i) => {
    if (seen.has(p.id)) issues.push({ field: `${base}.pools.${i}.id`, reason: `pool "${p.id}" appears twice` });
    seen.add(p.id);
  });
  if (pools.minimumAward !== undefined && pools.award !== 'partial') issues.push({ field: `${base}.minimumAward`, reason: 'applies only when award is "partial"' });
  const hours = pools.pools.findIndex((p) => 'gpuHours' in p.budget);
  if (hours >= 0 && typeof grantDuration === 'string' && isIsoInstant(grantDuration)) {
    issues.push({ field: `${base}.pools.${hours}.budget`, reason: 'a GPU-hour budget needs a grant period of a length (days or an ISO-8601 duration), not a fixed end date' });
  }
  return issues;
}
