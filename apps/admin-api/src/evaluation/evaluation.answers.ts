import { z } from 'zod';
import { record } from '../http/answers';

export const EvaluationProgressAnswer = record({
  cycleId: z.string(),
  teams: z.array(
    record({
      applicationId: z.string(),
      round: z.number().int(),
      runId: z.string(),
      suite: z.string(),
      suiteVersion: z.string(),
      total: z.number().int(),
      done: z.number().int(),
      errors: z.number().int(),
      scoreSoFar: z.number().nullable(),
      finished: z.boolean(),
      interval: record({ low: z.number(), high: z.number() }).nullable(),
      notSeparableFrom: z.array(z.string()).nullable(),
    }),
  ),
});
