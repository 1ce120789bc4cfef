import { PassThrough } from 'node:stream';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { createAdminApi } from '../src/bootstrap';
import { issueToken } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

interface LogRecord {
  level: string;
  service: string;
  msg: string;
  requestId?: string;
  principal?: { subject: string; role: string };
  req?: { method: string; url: string };
  res?: { statusCode: number };
}

/**
 * The API's structured log, read back from the pino destination: one JSON record per request with
 * its request id (the caller's `X-Request-Id`, else a new one, echoed either way) and principal.
 */
describe('request logging (JSON, request id, principal)', () => {
  let database: TestDatabase;
  let api: INestApplication;
  const lines: string[] = [];
  const destination = new PassThrough();
  destination.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  const records = () => lines.map((l) => JSON.parse(l) as LogRecord);
  const pm = `Bearer ${issueToken({ sub: 'pm-logs', role: 'program_manager' }, DEVELOPMENT_JWT_SECRET, 'concentra')}`;

  /** Bounded poll: pino writes asynchronously. */
  const recordOf = async (requestId: string): Promise<LogRecord | undefined> => {
    for (let i = 0; i < 100; i++) {
      const found = records().find((r) => r.requestId === requestId && r.res);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 20));
    }
    return undefined;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    Object.assign(process.env, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, MIGRATIONS_RUN: 'false' });
    api = await createAdminApi({ logLevel: 'info', logDestination: destination });
    await api.init();
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('a request record carries the caller’s request id (echoed) and the principal', async () => {
    const response = await request(api.getHttpServer()).get('/v1/programs').set('Authorization', pm).set('X-Request-Id', 'req-logs-1').expect(200);
    expect(response.headers['x-request-id']).toBe('req-logs-1');
    const record = await recordOf('req-logs-1');
    expect(record).toMatchObject({
      level: 'info',
      service: 'admin-api',
      requestId: 'req-logs-1',
      principal: { subject: 'pm-logs', role: 'program_manager' },
      req: { method: 'GET', url: '/v1/programs' },
      res: { statusCode: 200 },
    });
    expect(JSON.stringify(record)).not.toContain('Bearer'); // headers (tokens) are never logged
  });

  it('without an X-Request-Id (or with one that is not a plain token) a new one is made and echoed', async () => {
    const http = request(api.getHttpServer());
    for (const incoming of [undefined, 'not a plain token {"forged":true}']) {
      const call = http.get('/v1/programs').set('Authorization', pm);
      const response = await (incoming ? call.set('X-Request-Id', incoming) : call).expect(200);
      const id = response.headers['x-request-id'];
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      expect(await recordOf(id)).toMatchObject({ principal: { subject: 'pm-logs' }, res: { statusCode: 200 } });
    }
  });

  it('an unauthenticated request is logged with its id and no principal', async () => {
    await request(api.getHttpServer()).get('/v1/programs').set('X-Request-Id', 'req-logs-anon').expect(401);
    const record = await recordOf('req-logs-anon');
    expect(record).toMatchObject({ res: { statusCode: 401 } });
    expect(record?.principal).toBeUndefined();
  });
});
