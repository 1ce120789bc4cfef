/**
 * The data the evaluation reads from files: benchmark suites (libs/evaluation/suites/<id>.json) and
 * the registry of public model checksums. Both are read at activity time, checked, and identified by
 * the SHA-256 of their canonical content, which the recorded result names.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { BenchmarkSuiteSchema, DomainError, hashOf, suiteVersion, type BenchmarkSuite } from '@concentra/domain';

/** Next to src/ both in the source tree and in dist/ (the build copies the JSON files). */
export const SUITES_DIR = join(__dirname, '..', 'suites');
export const DEFAULT_REGISTRY_FILE = join(__dirname, '..', 'registry', 'public-models.json');

export interface LoadedSuite {
  suite: BenchmarkSuite;
  version: string;
}

export function loadSuite(id: string, dir: string = SUITES_DIR): LoadedSuite {
  if (!/^[a-z0-9][a-z0-9_.-]{0,62}$/.test(id)) throw new DomainError('validation_failed', 'not a suite id', 'suite');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, `${id}.json`), 'utf8'));
  } catch (error) {
    throw new DomainError('not_found', `no readable suite "${id}" in ${dir}: ${(error as Error).message}`, 'suite');
  }
  const parsed = BenchmarkSuiteSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ field: i.path.join('.'), reason: i.message }));
    throw new DomainError('validation_failed', `suite "${id}" is not valid`, 'suite', issues);
  }
  if (parsed.data.id !== id) throw new DomainError('validation_failed', `the file ${id}.json holds suite "${parsed.data.id}"`, 'suite');
  return { suite: parsed.data, version: suiteVersion(parsed.data) };
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256');

export const ProvenanceRegistrySchema = z.object({
  about: z.string().optional(),
  models: z.array(
    z.strictObject({
      model: z.string().min(1),
      source: z.string().min(1),
      artifacts: z.array(z.strictObject({ file: z.string().min(1), sha256 })).min(1),
    }),
  ),
});
export type ProvenanceRegistry = z.infer<typeof ProvenanceRegistrySchema>;

export function loadRegistry(file: string = DEFAULT_REGISTRY_FILE): { registry: ProvenanceRegistry; version: string } {
  const registry = ProvenanceRegistrySchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  return { registry, version: hashOf(registry) };
}
