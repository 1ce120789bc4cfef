import 'reflect-metadata';
import { PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { AdminApiModule } from '../admin-api.module';
import { controllersOf } from '../../test/controllers-of';
import { ANSWERS_KEY } from './answers';
import { ZodPipe } from './zod-body.pipe';


/**
 * Strings PostgreSQL cannot store are refused in bodies by ZodPipe (so that the 400 lists the
 * body's other bad fields too) and in path parameters and query strings by the global
 * InputHygieneInterceptor. This keeps the first half true: every body goes through a ZodPipe.
 */
describe('input hygiene', () => {
  it('validates every route body with a ZodPipe', () => {
    const bodies = controllersOf(AdminApiModule).flatMap((controller) =>
      Object.getOwnPropertyNames(controller.prototype)
        .filter((name) => name !== 'constructor' && Reflect.getMetadata(PATH_METADATA, controller.prototype[name as keyof typeof controller.prototype]) !== undefined)
        .flatMap((name) =>
          Object.entries((Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, { pipes?: unknown[] }>)
            .filter(([key]) => key.split(':')[0] === String(RouteParamtypes.BODY))
            .map(([, arg]) => ({ route: `${controller.name}.${name}`, zod: (arg.pipes ?? []).some((p) => p instanceof ZodPipe) })),
        ),
    );
    expect(bodies.length).toBeGreaterThan(15);
    expect(bodies.filter((b) => !b.zod).map((b) => b.route)).toEqual([]);
  });

  it('names unstorable body fields together with the schema’s other complaints', async () => {
    const { z } = await import('zod');
    const pipe = new ZodPipe(z.strictObject({ slug: z.string().regex(/^[a-z]+$/), name: z.string(), n: z.number() }));
    let fields: unknown;
    try {
      pipe.transform({ slug: 'a\u0000', name: 'x\ud800', n: 'no', extra: { 'k\u0000': 1 } });
    } catch (error) {
      fields = ((error as { getResponse(): { fields: unknown } }).getResponse()).fields;
    }
    expect(fields).toEqual([
      { field: 'slug', reason: 'contains a NUL character (U+0000)' },
      { field: 'name', reason: 'contains an unpaired surrogate (U+D800)' },
      { field: 'extra.k\\u0000', reason: 'its key contains a NUL character (U+0000)' },
      { field: 'n', reason: expect.any(String) },
      { field: '(body)', reason: expect.stringMatching(/extra/) },
    ]);
  });

  it('declares what every route answers, and attaches nothing to the document by hand (it is derived)', () => {
    // Out of the contract on purpose: /metrics answers Prometheus text to scrapers, not JSON to clients.
    const documented = controllersOf(AdminApiModule).filter((controller) => !Reflect.getMetadata('swagger/apiExcludeController', controller));
    expect(documented.length).toBe(controllersOf(AdminApiModule).length - 1);
    const routes = documented.flatMap((controller) =>
      Object.getOwnPropertyNames(controller.prototype)
        .filter((name) => name !== 'constructor' && Reflect.getMetadata(PATH_METADATA, controller.prototype[name as keyof typeof controller.prototype]) !== undefined)
        .map((name) => ({ route: `${controller.name}.${name}`, controller, handler: controller.prototype[name as keyof typeof controller.prototype] as object })),
    );
    expect(routes.filter((r) => !Reflect.getMetadata(ANSWERS_KEY, r.handler) && !Reflect.getMetadata(ANSWERS_KEY, r.controller)).map((r) => r.route)).toEqual([]);
    // @ApiBody / @ApiQuery / @ApiParam (swagger/apiParameters) and @ApiResponse (swagger/apiResponse): none.
    expect(routes.filter((r) => Reflect.getMetadata('swagger/apiParameters', r.handler) || Reflect.getMetadata('swagger/apiResponse', r.handler)).map((r) => r.route)).toEqual([]);
  });
});
