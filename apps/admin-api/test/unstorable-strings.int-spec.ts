import 'reflect-metadata';
import { PATH_METADATA } from '@nestjs/common/constants';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import { commandUpdates, type CommandResult, type PersonCommand, type PersonCommandType } from '@concentra/workflows/contracts';
import { CycleCommandsController } from '../src/commands/commands.controller';
import { StartCycleSchema, CreateProgramSchema } from '../src/programs/programs.schemas';
import { ACCESS_KEY, type Access } from '../src/auth/roles';
import { ZodPipe } from '../src/http/zod-body.pipe';
import { applicant, auditor, bearer, company, eventually, expectStatus, panel, pm, shortPolicy, university, cycleUnderTest } from './cycle-commands.support';

/**
 * Strings PostgreSQL cannot store (NUL, unpaired surrogates) are refused at the edge with a 400
 * naming the field, and again by the domain in the cycle's Update validator; nothing is recorded
 * and the cycle goes on. The cases are generated from the command routes and their zod schemas:
 * every string field (record keys and enum values included) of every command, once with each poison.
 */

const POISONS = [
  { name: 'NUL', value: '\u0000', reason: 'contains a NUL character (U+0000)', escaped: '\\u0000' },
  { name: 'lone surrogate', value: '\ud800', reason: 'contains an unpaired surrogate (U+D800)', escaped: '\\ud800' },
] as const;

const SHA = 'a'.repeat(64);
const APP = 'alpha';

/** A valid body per command route (every optional string field given, so that each can be poisoned), and the command it sends. */
const COMMANDS: Record<string, { type: PersonCommandType; body: Record<string, unknown> }> = {
  applications: { type: 'SubmitApplication', body: { applicationId: APP, title: 'Alpha', summary: 'A summary', lead: company('org-a'), members: [university('org-u')], topics: ['language'], region: 'kr-seoul' } },
  'applications/:applicationId/withdraw': { type: 'WithdrawApplication', body: { reason: 'no longer' } },
  'applications/:applicationId/membership': { type: 'ApproveMembershipChange', body: { members: [company('org-b')], rationale: 'merger' } },
  'applications/:applicationId/conflicts': { type: 'DeclareConflictOfInterest', body: { reason: 'former employer' } },
  'applications/:applicationId/assignment/decline': { type: 'DeclineReviewAssignment', body: { reason: 'on leave' } },
  reviews: { type: 'SubmitReview', body: { reviewId: 'rev-1', applicationId: APP, scores: { technical: 7 }, verdicts: { ethics: 'pass' }, conflictOfInterest: { declared: false, note: 'none' } } },
  'selection/approve': { type: 'ApproveSelection', body: { rationale: 'as ranked' } },
  'selection/override': { type: 'OverrideSelection', body: { awardees: [APP], rationale: 'because' } },
  models: {
    type: 'SubmitModel',
    body: { applicationId: APP, round: 1, artifact: { uri: 'https://models.example/alpha', sha256: SHA }, endpoint: { baseUrl: 'https://models.example/v1', model: 'alpha-1', credentialRef: 'alpha' }, artifacts: [{ name: 'weights', sha256: SHA }] },
  },
  'evaluation-scores': {
    type: 'SubmitEvaluationScores',
    body: { scoreSetId: 'scores-1', applicationId: APP, round: 1, scores: { quality: 7 }, verdicts: { safety: 'pass' }, conflictOfInterest: { declared: false, note: 'none' } },
  },
  'narrowing/approve': { type: 'ApproveNarrowing', body: { round: 1, rationale: 'as ranked' } },
  'narrowing/override': { type: 'OverrideNarrowing', body: { round: 1, keep: [APP], rationale: 'because' } },
  objections: { type: 'ObjectToDecision', body: { applicationId: APP, grounds: 'unfair' } },
  'objections/:applicationId/waive': { type: 'WaiveObjection', body: {} },
  'objections/:applicationId/decision': { type: 'DecideObjection', body: { upheld: false, reasoning: 'unfounded' } },
  'refill/selection': { type: 'SelectRefillEntrants', body: { applicationIds: [APP], rationale: 'best' } },
  'grants/:applicationId/gpus': { type: 'SetGrantGpus', body: { gpus: [{ type: 'H100', count: 16 }], rationale: 'a larger share to catch up' } },
  'procurement/contracts': {
    type: 'RecordProcurementContract',
    body: {
      contractId: 'contract-1',
      applicationId: APP,
      agency: 'Agency',
      model: 'Alpha-1',
      term: { start: '2029-01-01T00:00:00Z', end: '2030-01-01T00:00:00Z' },
      amount: { value: 1000, currency: 'EUR' },
      budgetLine: 'line-1',
    },
  },
  'procurement/releases': { type: 'RecordReleaseDeclaration', body: { applicationId: APP, repository: 'https://code.example/alpha', licence: 'MIT', artifacts: [{ name: 'weights', sha256: SHA }] } },
  cancel: { type: 'CancelCycle', body: { reason: 'budget' } },
};

type JsonSchema = { type?: string | string[]; properties?: Record<string, JsonSchema>; items?: JsonSchema; propertyNames?: JsonSchema; additionalProperties?: JsonSchema | boolean; anyOf?: JsonSchema[]; oneOf?: JsonSchema[]; allOf?: JsonSchema[] };
/** A step into a value: a property, the first array item, or the first entry of a record (its key, or its value). */
type Step = { prop: string } | { item: true } | { recordKey: true } | { recordValue: true };

/** Every string a body can hold, as paths through the schema (records: their keys and their values). */
function stringLeaves(schema: JsonSchema, path: Step[] = []): Step[][] {
  const alternatives = [...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? [])];
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const out: Step[][] = alternatives.flatMap((s) => stringLeaves(s, path));
  if (types.includes('string')) out.push(path);
  if (schema.properties) for (const [key, child] of Object.entries(schema.properties)) out.push(...stringLeaves(child, [...path, { prop: key }]));
  if (schema.items) out.push(...stringLeaves(schema.items, [...path, { item: true }]));
  if (schema.propertyNames) {
    out.push([...path, { recordKey: true }]);
    if (typeof schema.additionalProperties === 'object') out.push(...stringLeaves(schema.additionalProperties, [...path, { recordValue: true }]));
  }
  return out;
}

/** The body with one string poisoned at `path`, and the field the answer must name. */
function poison(body: Record<string, unknown>, path: Step[], p: (typeof POISONS)[number]): { body: Record<string, unknown>; field: string; reason: string } {
  const copy = structuredClone(body) as Record<string, unknown>;
  let node: Record<string, unknown> | unknown[] = copy;
  const fields: string[] = [];
  const fail = () => new Error(`the base body has nothing at ${JSON.stringify(path)}: give every optional string field in the table`);
  for (let i = 0; i < path.length; i += 1) {
    const step = path[i];
    const last = i === path.length - 1;
    let key: string | number;
    if ('prop' in step) key = step.prop;
    else if ('item' in step) key = 0;
    else {
      const first = Object.keys(node)[0];
      if (first === undefined) throw fail();
      if ('recordKey' in step) {
        const record = node as Record<string, unknown>;
        const value = record[first];
        delete record[first];
        record[`${first}${p.value}`] = value;
        fields.push(`${first}${p.escaped}`);
        return { body: copy, field: fields.join('.'), reason: `its key ${p.reason}` };
      }
      key = first;
    }
    const container = node as Record<string | number, unknown>;
    if (!(key in container)) throw fail();
    fields.push(String(key));
    if (last) {
      if (typeof container[key] !== 'string') throw fail();
      container[key] = `${container[key] as string}${p.value}`;
    } else node = container[key] as Record<string, unknown>;
  }
  return { body: copy, field: fields.join('.'), reason: p.reason };
}

function zodSchemaOf(controller: object, method: string): z.ZodType | undefined {
  const args = (Reflect.getMetadata('__routeArguments__', controller.constructor, method) ?? {}) as Record<string, { pipes?: unknown[] }>;
  for (const [key, arg] of Object.entries(args)) {
    if (!key.startsWith('3:')) continue; // RouteParamtypes.BODY
    const pipe = arg.pipes?.find((x) => x instanceof ZodPipe) as unknown as { schema: z.ZodType } | undefined;
    return pipe?.schema;
  }
  return undefined;
}

/** The command routes as the controller declares them, with their zod body schemas and allowed roles. */
const routes = Object.getOwnPropertyNames(CycleCommandsController.prototype)
  .filter((name) => name !== 'constructor')
  .map((name) => {
    const handler = (CycleCommandsController.prototype as unknown as Record<string, object>)[name];
    return {
      path: Reflect.getMetadata(PATH_METADATA, handler) as string,
      schema: zodSchemaOf(CycleCommandsController.prototype, name),
      roles: (Reflect.getMetadata(ACCESS_KEY, handler) as Access & { roles: string[] }).roles,
    };
  })
  .filter((r) => r.path !== undefined);

const tokenFor = (role: string) => (role === 'applicant' ? applicant('org-a') : bearer({ sub: `${role}-1`, role: role as 'program_manager' }));

interface Case {
  label: string;
  path: string;
  auth: string;
  body: Record<string, unknown>;
  field: string;
  reason: string;
  type: PersonCommandType;
  /** The command's data as the API would send it (the path's application id merged in). */
  data: Record<string, unknown>;
}

function commandCases(): Case[] {
  const cases: Case[] = [];
  for (const route of routes) {
    const entry = COMMANDS[route.path];
    if (!entry) throw new Error(`no base body for the command route ${route.path}: add it to COMMANDS`);
    if (!route.schema) throw new Error(`the command route ${route.path} has no ZodPipe body`);
    expect(route.schema.safeParse(entry.body).success).toBe(true);
    const leaves = stringLeaves(z.toJSONSchema(route.schema, { io: 'input' }) as JsonSchema);
    const path = route.path.replace(':applicationId', APP);
    for (const leaf of leaves) {
      for (const p of POISONS) {
        const { body, field, reason } = poison(entry.body, leaf, p);
        const data = { ...(route.path.includes(':applicationId') ? { applicationId: APP } : {}), ...body };
        cases.push({ label: `${route.path} ${field} (${p.name})`, path, auth: tokenFor(route.roles[0]), body, field, reason, type: entry.type, data });
      }
    }
  }
  return cases;
}

describe('unstorable strings are refused at the edge and in the domain', () => {
  const { slug, year, id, h } = cycleUnderTest('unstorable', 2029);

  const fieldsOf = (res: { body: { fields?: { field: string; reason: string }[] } }) => res.body.fields ?? [];

  it('program bodies and path: the name (and any policy string) is a 400 naming the field; nothing is created', async () => {
    const leaves = stringLeaves(z.toJSONSchema(CreateProgramSchema, { io: 'input' }) as JsonSchema);
    const base = { slug, name: 'Unstorable strings', policy: { name: 'A policy name' } };
    for (const leaf of leaves) {
      for (const p of POISONS) {
        const { body, field, reason } = poison(base, leaf, p);
        const res = expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send(body), 400);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(fieldsOf(res)).toEqual(expect.arrayContaining([{ field, reason }]));
      }
    }
    for (const p of POISONS) {
      const res = expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ ...base, policy: { stages: [{ name: `x${p.value}` }] } }), 400);
      expect(fieldsOf(res)).toEqual(expect.arrayContaining([{ field: 'policy.stages.0.name', reason: p.reason }]));
    }
    expect(leaves.length).toBeGreaterThanOrEqual(2); // slug and name at least
    expectStatus(await h.http().get(`/v1/programs/${slug}`).set('Authorization', pm), 404);
    const badSlug = expectStatus(await h.http().get('/v1/programs/a%00b').set('Authorization', pm), 400);
    expect(fieldsOf(badSlug)).toEqual([{ field: 'slug', reason: POISONS[0].reason }]);
    expectStatus(await h.http().post('/v1/programs').set('Authorization', pm).send({ slug, name: 'Unstorable strings', policy: shortPolicy({ review: 'PT30M', afterApplications: 5 }) }), 201);
  });

  it('cycle start: panel subjects, organisations and the lottery seed are a 400 naming the field; no cycle starts', async () => {
    const leaves = stringLeaves(z.toJSONSchema(StartCycleSchema, { io: 'input' }) as JsonSchema);
    // Every optional string given: a reviewer's expertise tags too (reviewer assignment).
    const tagged = <T extends object>(people: T[]) => people.map((p, i) => (i === 0 ? { ...p, expertise: ['language'] } : p));
    const base = { year, panel: { reviewers: tagged(panel.reviewers), evaluators: tagged(panel.evaluators) }, lotterySeed: 'seed-1' };
    const named = new Set<string>();
    for (const leaf of leaves) {
      for (const p of POISONS) {
        const { body, field, reason } = poison(base, leaf, p);
        named.add(field);
        const res = expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send(body), 400);
        expect(fieldsOf(res)).toEqual(expect.arrayContaining([{ field, reason }]));
      }
    }
    expect([...named]).toEqual(expect.arrayContaining(['panel.reviewers.0.subject', 'panel.evaluators.0.subject', 'panel.reviewers.0.organisationId', 'lotterySeed']));
    const badPath = expectStatus(await h.http().post(`/v1/programs/${slug}%00/cycles`).set('Authorization', pm).send(base), 400);
    expect(fieldsOf(badPath)).toEqual([{ field: 'slug', reason: POISONS[0].reason }]);
    await expect(h.client.workflow.getHandle(id).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);

    expectStatus(await h.http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send(base), 201);
    await eventually('the call to open', async () => (await h.http().get(`/v1/cycles/${id}`).set('Authorization', auditor)).body.live?.stage === 'call', 30_000);
  });

  it('every string field of every command, with each poison: 400 naming the field at the API, refused by the Update validator too; no event stored', async () => {
    const cases = commandCases();
    // Every command route is covered: by its body's strings, or (a body with none) by its path's application id below.
    const covered = new Set(cases.map((c) => c.type));
    expect(routes.filter((r) => !covered.has(COMMANDS[r.path].type)).map((r) => r.path)).toEqual(['objections/:applicationId/waive']);
    const before = await h.eventCount(id);
    expect(before).toBeGreaterThan(0);
    const failures: string[] = [];
    for (const c of cases) {
      const res = await h.http().post(`/v1/cycles/${id}/${c.path}`).set('Authorization', c.auth).send(c.body);
      if (res.status !== 400 || !fieldsOf(res).some((f) => f.field === c.field && f.reason === c.reason) || !/^application\/problem\+json/.test(res.headers['content-type'] ?? '')) {
        failures.push(`${c.label}: ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
    expect(failures).toEqual([]);
    expect(await h.eventCount(id)).toBe(before);

    // The same commands sent straight to the cycle as Updates (past the API): the domain refuses each, naming the field.
    const actor = { role: 'program_manager' as const, subject: 'pm-1' };
    for (const c of cases) {
      const update = commandUpdates[c.type] as unknown as UpdateDefinition<CommandResult, [PersonCommand]>;
      const error = await h.client.workflow
        .getHandle(id)
        .executeUpdate(update, { args: [{ type: c.type, actor, data: c.data } as PersonCommand] })
        .then(() => undefined, (e: unknown) => e);
      const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
      const details = cause instanceof ApplicationFailure && cause.type === 'DomainError' ? ((cause.details ?? [])[0] as { code?: string; field?: string; reason?: string }) : undefined;
      if (details?.code !== 'validation_failed' || details.field !== c.field || details.reason !== c.reason) failures.push(`Update ${c.label}: ${String(error)} ${JSON.stringify(details)}`);
    }
    const actorCase = await h.client.workflow
      .getHandle(id)
      .executeUpdate(commandUpdates.CancelCycle as unknown as UpdateDefinition<CommandResult, [PersonCommand]>, {
        args: [{ type: 'CancelCycle', actor: { ...actor, subject: 'pm\u0000' }, data: { reason: 'fine' } } as PersonCommand],
      })
      .then(() => undefined, (e: unknown) => e);
    expect(((actorCase as WorkflowUpdateFailedError).cause as ApplicationFailure).details?.[0]).toMatchObject({ code: 'validation_failed', field: 'actor.subject' });
    expect(failures).toEqual([]);
    expect(await h.eventCount(id)).toBe(before);
  });

  it('path parameters and query strings (the audit routes included) are checked before anything runs', async () => {
    const before = await h.eventCount(id);
    const nul = POISONS[0].reason;
    const checks: Array<[string, string, string]> = [
      [`/v1/cycles/${id}%00`, 'id', 'get'],
      [`/v1/cycles/${id}?asOf=2027-01-01T00:00:00Z%00`, 'asOf', 'get'],
      [`/v1/cycles/${id}/timeline?note=%00`, 'note', 'get'],
      ['/v1/audit/access-log?date=2027-01-01%00', 'date', 'get'],
      [`/v1/audit/cycles/${id}/timeline?anything=a%00b`, 'anything', 'get'],
      [`/v1/audit/cycles/${id}%00/verify`, 'id', 'get'],
    ];
    // Every command route with an application id in its path.
    for (const route of routes.filter((r) => r.path.includes(':applicationId'))) {
      checks.push([`/v1/cycles/${id}/${route.path.replace(':applicationId', `${APP}%00`)}`, 'applicationId', 'post']);
    }
    for (const [url, field, method] of checks) {
      const route = routes.find((r) => method === 'post' && url.endsWith(r.path.replace(':applicationId', `${APP}%00`)));
      const auth = route ? tokenFor(route.roles[0]) : auditor;
      const res = expectStatus(await (method === 'post' ? h.http().post(url).send({}) : h.http().get(url)).set('Authorization', auth), 400);
      expect(fieldsOf(res)).toEqual([{ field, reason: nul }]);
    }
    expect(await h.eventCount(id)).toBe(before);
    // The audit access log wrote nothing for the refused audit calls, and still works.
    const today = new Date().toISOString().slice(0, 10);
    expectStatus(await h.http().get(`/v1/audit/access-log?date=${today}`).set('Authorization', auditor), 200);
  });

  it('afterwards the same cycle accepts a valid command', async () => {
    const before = await h.eventCount(id);
    const res = expectStatus(
      await h.http().post(`/v1/cycles/${id}/applications`).set('Authorization', applicant('org-a')).send(COMMANDS.applications.body),
      201,
    );
    expect(res.body).toMatchObject({ command: 'SubmitApplication', id: APP });
    expect(await h.eventCount(id)).toBeGreaterThan(before);
  });
});
