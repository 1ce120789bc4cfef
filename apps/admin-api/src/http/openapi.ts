import type { INestApplication } from '@nestjs/common';
import { HTTP_CODE_METADATA, METHOD_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common/enums/request-method.enum';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ACCESS_KEY, type Access } from '../auth/roles';
import { ANSWERS_KEY, ProblemSchema } from './answers';
import { controllersOf, type Class } from './routes';
import { ZodPipe } from './zod-body.pipe';

type Json = Record<string, unknown>;

/** Why each error status is answered; every route documents those it can answer, all with a Problem body. */
const ERRORS: Record<number, string> = {
  400: 'a bad field in the body, a path parameter or the query string (each named, with its reason)',
  401: 'no bearer token, or one that is not valid or has expired',
  403: "the caller's role may not call this route, or the cycle refuses this caller (with the reason)",
  404: 'nothing by that id (program, cycle, application), or no route',
  409: 'conflicts with what is recorded: a duplicate, a late or out-of-stage command, a concurrent write',
  413: 'the body is larger than the server accepts',
  422: 'understood, but refused by a rule of the program',
  429: 'too many requests from this principal or this address; wait Retry-After seconds',
  503: 'PostgreSQL or Temporal is unavailable (dependency) or did not answer in time; wait Retry-After seconds',
};

/** A zod schema as OpenAPI 3.1 (JSON Schema 2020-12, the document's own dialect). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  return rest;
}

interface RouteArg {
  type: number;
  name?: string;
  schema?: z.ZodType;
}

function routeArgs(controller: Class, method: string): RouteArg[] {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, method) ?? {}) as Record<string, { data?: unknown; pipes?: unknown[] }>;
  return Object.entries(args).map(([key, arg]) => ({
    type: Number(key.split(':')[0]),
    name: typeof arg.data === 'string' ? arg.data : undefined,
    schema: (arg.pipes ?? []).find((p): p is ZodPipe<z.ZodType> => p instanceof ZodPipe)?.schema,
  }));
}

function accepts(schema: z.ZodType | undefined, value: unknown): boolean {
  return schema === undefined ? value !== undefined : schema.safeParse(value).success;
}

/** Path and query parameters from the route's own arguments (and the zod schemas of their pipes). */
function parameters(args: RouteArg[]): Json[] {
  const out: Json[] = [];
  for (const arg of args) {
    if (arg.type === RouteParamtypes.PARAM && arg.name) {
      out.push({ name: arg.name, in: 'path', required: true, schema: arg.schema ? jsonSchema(arg.schema, 'input') : { type: 'string', minLength: 1 } });
    } else if (arg.type === RouteParamtypes.QUERY && arg.schema && arg.name) {
      out.push({ name: arg.name, in: 'query', required: !accepts(arg.schema, undefined), schema: jsonSchema(arg.schema.optional(), 'input') });
    } else if (arg.type === RouteParamtypes.QUERY && arg.schema) {
      const object = jsonSchema(arg.schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
      for (const [name, schema] of Object.entries(object.properties ?? {})) out.push({ name, in: 'query', required: (object.required ?? []).includes(name), schema });
    }
  }
  return out;
}

function problem(status: number): Json {
  const headers = status === 429 || status === 503 ? { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer', minimum: 1 } } } : undefined;
  return { description: ERRORS[status], ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };
}

/**
 * Fills in what a route declares about itself (the zod schemas of its body, path and query pipes,
 * its @Answers schema, its access, its HTTP code) on the operation @nestjs/swagger laid out
 * (path, tags, summary): nothing is attached to a route by hand for the document's sake.
 */
function describe(operation: Json, controller: Class, method: string): void {
  const handler = (controller.prototype as Record<string, object>)[method];
  const access = (Reflect.getMetadata(ACCESS_KEY, handler) ?? Reflect.getMetadata(ACCESS_KEY, controller)) as Access | undefined;
  const isPublic = access !== undefined && 'public' in access;
  const args = routeArgs(controller, method);
  const body = args.find((a) => a.type === RouteParamtypes.BODY);
  const verb = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
  const success = (Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined) ?? (verb === RequestMethod.POST ? 201 : 200);
  const answers = (Reflect.getMetadata(ANSWERS_KEY, handler) ?? Reflect.getMetadata(ANSWERS_KEY, controller)) as z.ZodType | undefined;

  const params = parameters(args);
  operation.parameters = params;
  if (body?.schema) operation.requestBody = { required: !accepts(body.schema, undefined), content: { 'application/json': { schema: jsonSchema(body.schema, 'input') } } };
  else delete operation.requestBody;
  if (isPublic) operation.security = [];
  if (access && 'roles' in access) operation.description = `Roles: ${[...new Set([...access.roles, 'admin'])].join(', ')}.`;

  const errors = [400, 429, 503];
  if (!isPublic) errors.push(401, 403);
  if (params.some((p) => p.in === 'path')) errors.push(404);
  if (body) errors.push(413);
  if (verb === RequestMethod.POST || verb === RequestMethod.PUT) errors.push(409, 422);
  operation.responses = {
    [success]: { description: 'done', content: { 'application/json': { schema: answers ? jsonSchema(answers, 'output') : {} } } },
    ...Object.fromEntries(errors.sort().map((status) => [status, problem(status)])),
  };
}

/** The API contract: OpenAPI 3.1, generated from the routes and their zod schemas. */
export function buildOpenApiDocument(app: INestApplication, modules: Class[]): OpenAPIObject {
  const controllers = new Map(modules.flatMap((m) => controllersOf(m)).map((c) => [c.name, c]));
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Concentra admin API')
      .setDescription('Start and steer competitive compute-grant cycles; read their state and history. Every error is application/problem+json.')
      .setVersion('1')
      .addBearerAuth()
      .build(),
    { operationIdFactory: (controller, method) => `${controller}.${method}` },
  );
  for (const item of Object.values(document.paths)) {
    for (const operation of Object.values(item) as Json[]) {
      const [controller, method] = String(operation.operationId).split('.');
      const found = controllers.get(controller);
      if (!found) throw new Error(`no controller for operation ${String(operation.operationId)}`);
      describe(operation, found, method);
    }
  }
  return {
    ...document,
    openapi: '3.1.0',
    components: { ...document.components, schemas: { ...document.components?.schemas, Problem: jsonSchema(ProblemSchema, 'output') } },
  } as OpenAPIObject;
}
