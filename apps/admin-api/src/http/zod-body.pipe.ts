import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a body or query against a zod schema; a 400 lists every bad field and why. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  /** `root` names the value itself in errors: '(body)' for a body, the parameter's name for a query. */
  constructor(
    private readonly schema: S,
    private readonly root = '(body)',
  ) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw new BadRequestException({
      statusCode: 400,
      error: 'validation_failed',
      message: 'the request is not valid',
      fields: parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || this.root, reason: issue.message })),
    });
  }
}
