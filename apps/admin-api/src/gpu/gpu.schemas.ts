import { z } from 'zod';
import { GpuPoolPolicySchema } from '@concentra/gpu';

const instant = z.iso.datetime({ offset: true });

export const RegisterCapacitySchema = z
  .strictObject({
    /** Stable id; a retry with the same id and content is harmless. Generated when absent. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'lower-case letters, digits, dot, dash, underscore').optional(),
    site: z.string().trim().min(1).max(100),
    cluster: z.string().trim().min(1).max(100),
    provider: z.enum(['slurm', 'ledger']).default('slurm'),
    gpuType: z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a GPU type such as H100, H200 or B200').max(32),
    count: z.number().int().positive().max(1_000_000),
    ownership: z.enum(['owned', 'leased']),
    /** Leased capacity names the organisation that leases it to the pool. */
    lessorOrganisationId: z.string().trim().min(1).max(200).optional(),
    /** Owned capacity that arrives later, leased capacity from the lease's start. */
    availableFrom: instant,
    /** Leases end; owned capacity may have no end. */
    availableUntil: instant.optional(),
  })
  .superRefine((c, ctx) => {
    if (c.ownership === 'leased' && !c.lessorOrganisationId) ctx.addIssue({ code: 'custom', path: ['lessorOrganisationId'], message: 'leased capacity names its lessor' });
    if (c.ownership === 'owned' && c.lessorOrganisationId) ctx.addIssue({ code: 'custom', path: ['lessorOrganisationId'], message: 'owned capacity has no lessor' });
    if (c.availableUntil && Date.parse(c.availableUntil) <= Date.parse(c.availableFrom)) {
      ctx.addIssue({ code: 'custom', path: ['availableUntil'], message: 'must be after availableFrom' });
    }
  });
export type RegisterCapacity = z.infer<typeof RegisterCapacitySchema>;

const DAY = 24 * 3600 * 1000;

export const PoolQuerySchema = z
  .strictObject({
    from: instant.optional(),
    to: instant.optional(),
    /** Spacing of the series: `1 day`, `7 days`, `1 month`, ... */
    step: z.string().regex(/^[1-9]\d{0,2} (hour|day|week|month)s?$/, "like '1 day', '7 days' or '1 month'").default('7 days'),
  })
  .transform((q) => {
    const from = q.from ? new Date(q.from) : new Date(Date.now() - 28 * DAY);
    const to = q.to ? new Date(q.to) : new Date(from.getTime() + 365 * DAY);
    return { from, to, step: q.step };
  })
  .superRefine((q, ctx) => {
    if (q.to <= q.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    const [n, unit] = q.step.split(' ');
    const ms = Number(n) * ({ hour: 3600e3, day: DAY, week: 7 * DAY, month: 28 * DAY } as Record<string, number>)[unit.replace(/s$/, '')];
    if ((q.to.getTime() - q.from.getTime()) / ms > 1000) ctx.addIssue({ code: 'custom', path: ['step'], message: 'at most 1,000 points: use a larger step or a shorter range' });
  });
export type PoolQueryInput = z.input<typeof PoolQuerySchema>;

/**
 * `PUT /v1/gpu/policy`: the whole pool policy (rates, lessor rule, reallocation, thresholds, throttle)
 * as the next version. `basedOnVersion`, when given, must be the current version (else 409).
 */
export const PutPoolPolicySchema = GpuPoolPolicySchema.extend({
  basedOnVersion: z.number().int().positive().optional(),
});
export type PutPoolPolicy = z.infer<typeof PutPoolPolicySchema>;
