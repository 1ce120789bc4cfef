import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { cycleWorkflowId } from '@concentra/workflows/contracts';
import { createAdminApi } from '../src/bootstrap';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { applicant, auditor, eventually, expectStatus, pm } from './cycle-commands.support';

/**
 * A loopback TCP relay to a real server, which the test can cut (listener closed, every open
 * connection reset: clients then get "connection refused", as when the server is down) and
 * restore on the same port. PostgreSQL and Temporal stay real; only the road to them goes away.
 */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(
    private readonly host: string,
    private readonly targetPort: number,
  ) {}

  async open(): Promise<this> {
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, this.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
    return this;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.resetAndDestroy();
    if (server) await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * While PostgreSQL or Temporal is down, the API answers 503 application/problem+json with
 * Retry-After and names the dependency, never a 500; it recovers when the dependency is back.
 * Also: concurrent creates of one program slug answer one 201 and 409s.
 */
describe('the admin API while a dependency is down', () => {
  const slug = `outage-${randomBytes(3).toString('hex')}`;
  let database: TestDatabase;
  let pg: Relay;
  let temporal: Relay;
  let api: INestApplication;
  const http = () => request(api.getHttpServer());

  beforeAll(async () => {
    database = await createTestDatabase();
    const dbUrl = new URL(database.url);
    const [temporalHost, temporalPort] = (process.env.TEST_TEMPORAL_ADDRESS ?? '').split(':');
    pg = await new Relay(dbUrl.hostname, Number(dbUrl.port || 5432)).open();
    temporal = await new Relay(temporalHost, Number(temporalPort)).open();
    dbUrl.hostname = '127.0.0.1';
    dbUrl.port = String(pg.port);
    Object.assign(process.env, {
      DATABASE_URL: dbUrl.toString(),
      TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port}`,
      TEMPORAL_TASK_QUEUE: `outage-${slug}`, // no worker polls it: started cycles just wait
      MIGRATIONS_RUN: 'false',
    });
    api = await createAdminApi(['error']);
    await api.init();
  });
  afterAll(async () => {
    await temporal?.open().catch(() => undefined);
    await pg?.open().catch(() => undefined);
    await api?.close();
    await Promise.all([temporal?.cut(), pg?.cut()]);
    await database?.drop();
  });

  const expectUnavailable = (res: request.Response, dependency: 'temporal' | 'postgresql') => {
    expectStatus(res, 503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatchObject({ statusCode: 503, error: 'service_unavailable', dependency });
    expect(res.body.message).toMatch(dependency === 'temporal' ? /Temporal/ : /PostgreSQL/);
  };

  it('concurrent creates of one program slug: one 201, the others 409 (not 500)', async () => {
    const answers = await Promise.all(
      Array.from({ length: 6 }, (_, i) => http().post('/v1/programs').set('Authorization', pm).send({ slug, name: `Outage program ${i}` })),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const r of answers.filter((a) => a.status === 409)) expect(r.headers['content-type']).toMatch(/^application\/problem\+json/);
    expectStatus(await http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2030 }), 201);
  });

  it('Temporal unreachable: commands, cycle start and live reads answer 503 with Retry-After, within the request deadline', async () => {
    await temporal.cut();
    const id = cycleWorkflowId(slug, 2030);
    const [command, start, live, unknown] = await Promise.all([
      http().post(`/v1/cycles/${id}/applications`).set('Authorization', applicant('org-a')).send({ title: 'Alpha', lead: { organisationId: 'org-a', name: 'A', type: 'company' } }),
      http().post(`/v1/programs/${slug}/cycles`).set('Authorization', pm).send({ year: 2031 }),
      http().get(`/v1/cycles/${id}`).set('Authorization', auditor), // nothing recorded yet (no worker): only the live Query could answer
      http().get(`/v1/cycles/${cycleWorkflowId(slug, 2032)}`).set('Authorization', auditor),
    ]);
    expectUnavailable(command, 'temporal');
    expectUnavailable(start, 'temporal');
    expectUnavailable(live, 'temporal');
    expectUnavailable(unknown, 'temporal');
    // Reads from the projections do not need Temporal.
    expectStatus(await http().get(`/v1/programs/${slug}`).set('Authorization', pm), 200);
  });

  it('PostgreSQL unreachable: reads, writes and audited routes answer 503 with Retry-After; back when it is', async () => {
    await pg.cut();
    const today = new Date().toISOString().slice(0, 10);
    const [list, create, audit, timeline] = await Promise.all([
      http().get('/v1/programs').set('Authorization', pm),
      http().post('/v1/programs').set('Authorization', pm).send({ slug: `${slug}-2`, name: 'Second program' }),
      http().get(`/v1/audit/access-log?date=${today}`).set('Authorization', auditor),
      http().get(`/v1/cycles/${cycleWorkflowId(slug, 2030)}/timeline`).set('Authorization', auditor),
    ]);
    expectUnavailable(list, 'postgresql');
    expectUnavailable(create, 'postgresql');
    expectUnavailable(audit, 'postgresql');
    expectUnavailable(timeline, 'postgresql');

    await pg.open();
    await eventually('the API to read PostgreSQL again', async () => (await http().get('/v1/programs').set('Authorization', pm)).status === 200, 30_000);
  });
});
