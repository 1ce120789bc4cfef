import { z } from 'zod';
import { instant, record } from '../http/answers';

export const CapacityAnswer = record({
  id: z.string(),
  site: z.string(),
  cluster: z.string(),
  provider: z.string(),
  gpuType: z.string(),
  count: z.number().int(),
  ownership: z.enum(['owned', 'leased']),
  lessorOrganisationId: z.string().nullable(),
  availableFrom: instant,
  availableUntil: instant.nullable(),
});

export const PoolAnswer = record({
  at: instant,
  policy: record({ version: z.number().int() }),
  capacity: z.array(CapacityAnswer),
  allocations: record({ live: z.array(record({})), holdingPastWindow: z.array(z.string()) }),
  series: z.array(record({})),
});

const storedPolicy = { version: z.number().int(), policy: record({}), createdAt: instant, createdBy: z.string() };
export const PoolPolicyAnswer = record({ ...storedPolicy, history: z.array(record({ version: z.number().int() })) });
export const PoolPolicySetAnswer = record({ ...storedPolicy, changed: z.boolean() });
