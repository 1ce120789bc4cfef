/**
 * Benchmark suites as data: what the program asks every team's model, with the expected answers and
 * how each is scored. A suite version is the SHA-256 of its canonical content, so an auditor knows
 * exactly which items were asked (and a changed item is a new version, never the same one).
 */
import { z } from 'zod';
import { hashOf } from '../shared/canonical';
import { createUniform } from './statistics';

const id = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'use lower-case letters, digits, ".", "-" or "_"');
const text = z.string().trim().min(1, 'must not be empty');

const MultipleChoiceItem = z.strictObject({
  id,
  kind: z.literal('multiple_choice'),
  prompt: text,
  /** Shown as "A) ...", "B) ..." in order; the expected answer is a letter. */
  choices: z.array(text).min(2, 'at least two choices').max(26, 'at most 26 choices'),
  expected: z.string().regex(/^[A-Z]$/, 'must be one capital letter'),
});
const ExactMatchItem = z.strictObject({
  id,
  kind: z.literal('exact_match'),
  prompt: text,
  expected: text,
  /** Other spellings accepted as the same answer. */
  aliases: z.array(text).optional(),
});
const NumericItem = z.strictObject({
  id,
  kind: z.literal('numeric_tolerance'),
  prompt: text,
  expected: z.number().finite(),
  /** The answer is right when |answer - expected| <= tolerance. */
  tolerance: z.number().min(0, 'must not be negative'),
});

export const BenchmarkItemSchema = z.discriminatedUnion('kind', [MultipleChoiceItem, ExactMatchItem, NumericItem]);

export const BenchmarkSuiteSchema = z
  .strictObject({
    id,
    name: text,
    /** The only metric so far: the share of sampled items answered right. */
    metric: z.literal('accuracy'),
    /** How many items a run asks (a seeded sample of the items; all of them when equal). */
    sampleSize: z.number().int().min(1, 'must be at least 1'),
    /** Seeds the sample and the bootstrap; published with the suite. */
    seed: text,
    items: z.array(BenchmarkItemSchema).min(1, 'at least one item'),
  })
  .superRefine((suite, ctx) => {
    if (suite.sampleSize > suite.items.length) ctx.addIssue({ code: 'custom', path: ['sampleSize'], message: `must not exceed the ${suite.items.length} items` });
    const seen = new Set<string>();
    suite.items.forEach((item, i) => {
      if (seen.has(item.id)) ctx.addIssue({ code: 'custom', path: ['items', i, 'id'], message: `duplicate item id "${item.id}"` });
      seen.add(item.id);
      if (item.kind === 'multiple_choice' && item.expected.charCodeAt(0) - 65 >= item.choices.length) {
        ctx.addIssue({ code: 'custom', path: ['items', i, 'expected'], message: `names no choice (${item.choices.length} choices)` });
      }
    });
  });

export type BenchmarkItem = z.infer<typeof BenchmarkItemSchema>;
export type BenchmarkSuite = z.infer<typeof BenchmarkSuiteSchema>;

/** The suite's version: SHA-256 of its canonical JSON (key order and whitespace do not matter). */
export function suiteVersion(suite: BenchmarkSuite): string {
  return hashOf(suite);
}

/**
 * The items a run asks, in the order it asks them: a seeded shuffle of the suite, cut to its sample
 * size. The same suite version always gives the same sample, for every team.
 */
export function sampleItems(suite: BenchmarkSuite): BenchmarkItem[] {
  const next = createUniform(`${suite.seed}:sample`);
  const items = [...suite.items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items.slice(0, suite.sampleSize);
}

/** The prompt sent for an item: multiple-choice items list their lettered choices and ask for the letter. */
export function promptOf(item: BenchmarkItem): string {
  switch (item.kind) {
    case 'multiple_choice':
      return [item.prompt, ...item.choices.map((c, i) => `${String.fromCharCode(65 + i)}) ${c}`), 'Answer with the letter only.'].join('\n');
    case 'exact_match':
      return `${item.prompt}\nAnswer with the answer only.`;
    case 'numeric_tolerance':
      return `${item.prompt}\nAnswer with a number only.`;
  }
}
