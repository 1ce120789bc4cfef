import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';

/** Validates a body or query against a zod schema; a 400 lists every bad field and why. */
export class ZodPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const parsed = this.schema.safeParse(value);
    if (parsed.success) return parsed.data;
    throw new BadRequestException({
      statusCode: 400,
      error: 'validation_failed',
      message: 'the request is not valid',
      fields: parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', reason: issue.message })),
    });
  }
}
