import { DomainError, type DomainIssue } from '../shared/errors';
import { hashOf } from '../shared/canonical';
import { crossCheckPolicy } from './cross-checks';
import { ProgramPolicySchema, type ProgramPolicy } from './schema';

/**
 * Reads a policy document (parsed JSON or JSON text). Throws one DomainError('validation_failed')
 * listing every bad field, so the author sees all problems at once.
 */
export function parsePolicy(json: unknown): ProgramPolicy {
  let input = json;
  if (typeof json === 'string') {
    try {
      input = JSON.parse(json);
    } catch (e) {
      throw new DomainError('validation_failed', `policy is not valid JSON: ${(e as Error).message}`, '');
    }
  }
  const result = ProgramPolicySchema.safeParse(input);
  if (!result.success) {
    const issues: DomainIssue[] = result.error.issues.map((i) => ({
      field: i.path.map(String).join('.'),
      reason: i.message,
    }));
    throw invalid(issues);
  }
  const issues = crossCheckPolicy(result.data);
  if (issues.length > 0) throw invalid(issues);
  return result.data;
}

function invalid(issues: DomainIssue[]): DomainError {
  const summary = issues.map((i) => `${i.field || '(policy)'}: ${i.reason}`).join('; ');
  return new DomainError('validation_failed', `invalid policy: ${summary}`, issues[0]?.field, issues);
}

/** Hex SHA-256 of the canonical JSON of the parsed policy (defaults filled in), recorded with every decision. */
export function policyHash(policy: ProgramPolicy): string {
  return hashOf(policy);
}
