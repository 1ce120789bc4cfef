/**
 * Checks real answers against the API contract (the OpenAPI document the API serves): the status
 * must be one the operation documents, and the body must match the schema documented for it.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { ValidateFunction } from 'ajv';

type Json = Record<string, unknown>;
type Operation = { operationId: string; responses: Record<string, { content?: Record<string, { schema: Json }> }> };

export interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string | string[] | undefined>;
}

export class Contract {
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));

  private constructor(readonly document: { openapi: string; paths: Record<string, Record<string, Operation>> }) {}

  /** The served document, validated (swagger-parser, OpenAPI 3.1) and with every $ref resolved. */
  static async of(served: Json): Promise<Contract> {
    await SwaggerParser.validate(structuredClone(served) as never);
    return new Contract((await SwaggerParser.dereference(structuredClone(served) as never)) as never);
  }

  operations(): { method: string; path: string; operation: Operation }[] {
    return Object.entries(this.document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method, path, operation })));
  }

  /** Problems with one answer to `method path` (a path template such as /v1/cycles/{id}); [] when it keeps the contract. */
  problems(method: string, path: string, answer: Answer): string[] {
    const operation = this.document.paths[path]?.[method.toLowerCase()];
    if (!operation) return [`${method} ${path} is not in the document`];
    const documented = operation.responses[String(answer.status)];
    if (!documented) return [`${method} ${path} answered ${answer.status}, which it does not document (${Object.keys(operation.responses).join(', ')})`];
    const type = String(answer.headers['content-type'] ?? '').split(';')[0];
    const media = documented.content?.[type];
    if (!media) return [`${method} ${path} ${answer.status} answered ${type}, documented: ${Object.keys(documented.content ?? {}).join(', ')}`];
    const key = `${method} ${path} ${answer.status} ${type}`;
    const validate = this.validators.get(key) ?? this.ajv.compile(media.schema);
    this.validators.set(key, validate);
    return validate(answer.body) ? [] : [`${key}: ${this.ajv.errorsText(validate.errors)}`];
  }
}
