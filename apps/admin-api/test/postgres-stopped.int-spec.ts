import type { INestApplication } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import request from 'supertest';
import { AdminApiModule } from '../src/admin-api.module';
import { createAdminApi } from '../src/bootstrap';
import { controllersOf } from './controllers-of';
import { bearer, eventually } from './cycle-commands.support';
import { StoppablePostgres } from '../../../test/support/stoppable-postgres';
import { createDataSource, migrate } from '@concentra/persistence';

/** Every route of the API, as Nest maps it: method and path (parameters filled with a placeholder). */
function everyRoute(): { controller: string; method: string; path: string }[] {
  return controllersOf(AdminApiModule).flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    return Object.getOwnPropertyNames(controller.prototype)
      .filter((name) => name !== 'constructor')
      .map((name) => controller.prototype[name] as object)
      .filter((handler) => typeof handler === 'function' && Reflect.getMetadata(PATH_METADATA, handler) !== undefined)
      .map((handler) => {
        const own = String(Reflect.getMetadata(PATH_METADATA, handler));
        const path = `/${[base, own].filter((p) => p && p !== '/').join('/')}`.replace(/\/+/g, '/').replace(/:(\w+)/g, 'x');
        const declared = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | string;
        const method = (typeof declared === 'number' ? RequestMethod[declared] : declared).toLowerCase();
        return { controller: controller.name, method, path };
      });
  });
}

/**
 * With PostgreSQL stopped (an embedded one of this test's own, never the machine's shared server),
 * every route answers 503 with Retry-After, readiness included; liveness and /metrics stay 200. Started again,
 * readiness and the routes answer 200.
 */
describe('the admin API with PostgreSQL stopped', () => {
  const postgres = new StoppablePostgres();
  let api: INestApplication;
  const http = () => request(api.getHttpServer());
  const admin = bearer({ sub: 'admin-1', role: 'admin' });

  beforeAll(async () => {
    const url = await postgres.start('concentra');
    const db = await createDataSource(url).initialize();
    await migrate(db);
    await db.destroy();
    Object.assign(process.env, {
      DATABASE_URL: url,
      TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS,
      TEMPORAL_TASK_QUEUE: `pg-stopped-${process.pid}`,
      MIGRATIONS_RUN: 'false',
    });
    api = await createAdminApi(['error']);
    await api.init();
  });
  afterAll(async () => {
    await api?.close();
    await postgres.close();
  });

  it('answers 503 with Retry-After on every route while it is down, and 200 when it is back', async () => {
    const routes = everyRoute();
    expect(routes.length).toBeGreaterThan(30);
    expect((await http().get('/health/ready')).status).toBe(200);
    expect((await http().get('/v1/programs').set('Authorization', admin)).status).toBe(200);

    await postgres.stop();
    await eventually('readiness to see PostgreSQL down', async () => (await http().get('/health/ready')).status === 503, 30_000);

    const answers = await Promise.all(
      routes.map(async (route) => {
        const call = http()[route.method as 'get'](route.path).set('Authorization', admin);
        const res = await (route.method === 'get' ? call : call.send({}));
        return { route: `${route.method.toUpperCase()} ${route.path}`, status: res.status, retryAfter: res.headers['retry-after'] };
      }),
    );
    // Liveness and the scrape stay up: the process runs, and an operator wants metrics during an outage.
    const open = ['GET /health/live', 'GET /metrics'];
    expect(answers.filter((a) => open.includes(a.route)).map((a) => a.status)).toEqual([200, 200]);
    const others = answers.filter((a) => !open.includes(a.route));
    expect(others.filter((a) => a.status !== 503 || !(Number(a.retryAfter) > 0))).toEqual([]);

    await postgres.resume();
    await eventually('readiness to see PostgreSQL back', async () => (await http().get('/health/ready')).status === 200, 60_000);
    expect((await http().get('/v1/programs').set('Authorization', admin)).status).toBe(200);
    expect((await http().get('/health').set('Authorization', admin)).status).toBe(200);
  });
});
