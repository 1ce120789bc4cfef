import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { findUnstorable } from '@concentra/domain';

export interface FieldIssue {
  field: string;
  reason: string;
}

/** The one 400 of the API: every bad field and why. */
export function invalidRequest(fields: FieldIssue[]): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'validation_failed', message: 'the request is not valid', fields });
}

/**
 * Validates a body or query against a zod schema; a 400 lists every bad field and why. Before the
 * schema, every string and key of the value is checked for what PostgreSQL cannot store (NUL,
 * unpaired surrogates): such a field is named with that reason (the schema's own complaint about
 * the same field is dropped), together with the schema's other issues. One check for every schema.
 */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  /** `root` names the value itself in errors: '(body)' for a body, the parameter's name for a query. */
  constructor(
    readonly schema: S,
    private readonly root = '(body)',
  ) {}

  transform(value: unknown): z.infer<S> {
    const unstorable = findUnstorable(value).map((issue) => ({ field: issue.field || this.root, reason: issue.reason }));
    const parsed = this.schema.safeParse(value);
    if (parsed.success && unstorable.length === 0) return parsed.data;
    const named = new Set(unstorable.map((issue) => issue.field));
    const schemaIssues = parsed.success
      ? []
      : parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || this.root, reason: issue.message })).filter((issue) => !named.has(issue.field));
    throw invalidRequest([...unstorable, ...schemaIssues]);
  }
}
