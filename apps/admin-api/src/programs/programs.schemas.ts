import { z } from 'zod';

export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9]+(?:-[a-z0-9]+)*$/, 'must be lower-case letters, digits and single hyphens')
  .min(2)
  .max(48);

export const CreateProgramSchema = z.strictObject({
  slug: SlugSchema,
  name: z.string().trim().min(3).max(200),
  /** The policy document; omitted, the program runs on the default policy. */
  policy: z.record(z.string(), z.unknown()).optional(),
});
export type CreateProgram = z.infer<typeof CreateProgramSchema>;

export const StartCycleSchema = z.strictObject({
  year: z.number().int().min(2000).max(2200),
});
export type StartCycle = z.infer<typeof StartCycleSchema>;
