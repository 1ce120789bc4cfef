import { z } from 'zod';
import { instant, record } from '../http/answers';

export const ProgramAnswer = record({
  slug: z.string(),
  name: z.string(),
  policyHash: z.string().regex(/^[0-9a-f]{64}$/),
  policy: record({}).describe('the policy document (libs/domain/README.md)'),
  createdBy: z.string(),
  createdAt: instant,
});

export const CycleStartedAnswer = record({ id: z.string().describe('the cycle id, cycle:<program>:<year>'), runId: z.string() });

/** The cycle as its events alone say it was at `asOf`. */
export const CycleAsOfAnswer = record({ cycleId: z.string(), asOf: instant, exists: z.boolean(), stage: z.string().nullable(), position: z.number().int() });

export const CycleAnswer = z.union([
  record({
    id: z.string(),
    recorded: record({ id: z.string(), programSlug: z.string(), year: z.number().int(), stage: z.string(), policyHash: z.string() }).nullable(),
    live: record({ stage: z.string() }).nullable(),
    liveError: z.string().optional(),
  }),
  CycleAsOfAnswer,
]);
export const ProgramsAnswer = z.array(ProgramAnswer);

/** A program's cycles as the projection records them. */
export const ProgramCyclesAnswer = z.array(
  record({ id: z.string(), programSlug: z.string(), year: z.number().int(), stage: z.string(), policyHash: z.string(), callClosesAt: instant.nullable(), openedAt: instant, updatedAt: instant }),
);
