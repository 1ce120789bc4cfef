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

const PanelMemberSchema = z.strictObject({
  /** The scorer's identity (the token's `sub`). */
  subject: z.string().trim().min(1).max(200),
  /** Their organisation: a conflict of interest with it is detected without a declaration. */
  organisationId: z.string().trim().min(1).max(200).optional(),
  /** Expertise tags, matched with applications' topics when the policy assigns reviewers. */
  expertise: z.array(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'use lower-case letters, digits, "-" or "_"')).max(20).optional(),
});

export const StartCycleSchema = z.strictObject({
  year: z.number().int().min(2000).max(2200),
  /** Who reviews and who evaluates; when named, scorers outside the panel are refused. */
  panel: z
    .strictObject({
      reviewers: z.array(PanelMemberSchema).max(500).default([]),
      evaluators: z.array(PanelMemberSchema).max(500).default([]),
    })
    .optional(),
  /** Published with the call so nobody can choose it after seeing the scores; defaults to the cycle id. */
  lotterySeed: z.string().trim().min(1).max(200).optional(),
});
export type StartCycle = z.infer<typeof StartCycleSchema>;

/** A moment to read a cycle as of. */
export const AsOfSchema = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 timestamp, e.g. 2027-03-01T12:00:00Z' }).optional();
