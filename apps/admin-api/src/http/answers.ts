import { SetMetadata } from '@nestjs/common';
import { z } from 'zod';

export const ANSWERS_KEY = 'concentra:answers';

/** What a route answers on success: its body's schema, the one source of the OpenAPI response. */
export const Answers = (schema: z.ZodType) => SetMetadata(ANSWERS_KEY, schema);

/** application/problem+json, the body of every error (ProblemFilter writes it). */
export const ProblemSchema = z
  .object({
    statusCode: z.number().int().min(400).max(599),
    error: z.string().describe('a machine-readable code: validation_failed, conflict, not_found, service_unavailable, ...'),
    message: z.string(),
    fields: z.array(z.object({ field: z.string(), reason: z.string() })).optional().describe('on a 400: every bad field and why'),
    dependency: z.enum(['temporal', 'postgresql', 'identity_provider']).optional().describe('on a 503: what is down'),
  });
export type Problem = z.infer<typeof ProblemSchema>;

/** A JSON object whose key fields are named and the rest left open (read models evolve by adding fields). */
export const record = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape);
export const instant = z.string().describe('ISO 8601 instant');
/** A list read of one cycle: `{ cycleId, <key>: [...] }`. */
export const cycleList = (key: string, item: z.ZodType = record({})) => record({ cycleId: z.string(), [key]: z.array(item) });
