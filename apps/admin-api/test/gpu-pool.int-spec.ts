import type { INestApplication } from '@nestjs/common';
import request from 'supertest';

import { GpuLedger } from '@concentra/gpu';

import { type Principal } from '@concentra/auth';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { bearer, startApi } from './api.support';

/** The GPU pool over HTTP, on real PostgreSQL: register capacity, read the pool over time, access rules. */
describe('GPU pool API (/v1/gpu)', () => {
  let database: TestDatabase;
  let api: INestApplication;
  const token = (role: Principal['role'], org?: string) => bearer({ sub: `${role}-1`, role, org });
  const pm = token('program_manager');
  const capacity = {
    id: 'north-h100',
    site: 'north',
    cluster: 'north-1',
    provider: 'ledger',
    gpuType: 'H100',
    count: 64,
    ownership: 'leased',
    lessorOrganisationId: 'org-cloud',
    availableFrom: '2027-01-01T00:00:00Z',
    availableUntil: '2028-01-01T00:00:00Z',
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    api = await startApi(database);
  });
  afterAll(async () => {
    await api?.close();
    await database?.drop();
  });

  it('registers capacity for program managers (validated, idempotent by id) and refuses others', async () => {
    const http = request(api.getHttpServer());
    await http.post('/v1/gpu/capacity').send(capacity).expect(401);
    await http.post('/v1/gpu/capacity').set('Authorization', token('auditor')).send(capacity).expect(403);
    const invalid = await http
      .post('/v1/gpu/capacity')
      .set('Authorization', pm)
      .send({ ...capacity, count: -1, lessorOrganisationId: undefined, availableUntil: '2026-01-01T00:00:00Z' })
      .expect(400);
    expect(invalid.body.fields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'count' }),
      ]),
    );
    const invalidLease = await http.post('/v1/gpu/capacity').set('Authorization', pm).send({ ...capacity, lessorOrganisationId: undefined, availableUntil: '2026-01-01T00:00:00Z' }).expect(400);
    expect(invalidLease.body.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'lessorOrganisationId' }), expect.objectContaining({ field: 'availableUntil' })]),
    );

    const created = await http.post('/v1/gpu/capacity').set('Authorization', pm).send(capacity).expect(201);
    expect(created.body).toMatchObject({ id: 'north-h100', gpuType: 'H100', count: 64, ownership: 'leased', lessorOrganisationId: 'org-cloud', registeredBy: 'program_manager-1' });
    await http.post('/v1/gpu/capacity').set('Authorization', pm).send(capacity).expect(201);
    const conflict = await http.post('/v1/gpu/capacity').set('Authorization', pm).send({ ...capacity, count: 65 }).expect(409);
    expect(conflict.body.message).toMatch(/north-h100/);
    await http.post('/v1/gpu/capacity').set('Authorization', token('admin')).send({ ...capacity, id: 'south-b200', site: 'south', gpuType: 'b200', count: 16, ownership: 'owned', lessorOrganisationId: undefined, availableUntil: undefined }).expect(201);
    const events = await database.db.query(`SELECT type FROM events WHERE stream_id = 'gpu-pool' ORDER BY stream_position`);
    expect(events.map((e: { type: string }) => e.type)).toEqual(['GpuCapacityRegistered', 'GpuCapacityRegistered']);
  });

  it('shows capacity, reservations and usage by type and site over time to managers and auditors', async () => {
    const http = request(api.getHttpServer());
    await api.get(GpuLedger).provision({
      idempotencyKey: 'grant:api:2027:t1#provision',
      grantId: 'grant:api:2027:t1',
      organisationId: 'org-t1',
      request: { alternatives: [{ type: 'H100', count: 16 }] },
      window: { from: '2027-03-01T00:00:00Z', to: '2027-09-01T00:00:00Z' },
    });
    await http.get('/v1/gpu/pool').set('Authorization', token('reviewer')).expect(403);
    await http.get('/v1/gpu/pool?step=every%20day').set('Authorization', pm).expect(400);
    const pool = await http
      .get('/v1/gpu/pool')
      .query({ from: '2026-12-01T00:00:00Z', to: '2028-02-01T00:00:00Z', step: '1 month' })
      .set('Authorization', token('auditor'))
      .expect(200);
    expect(pool.body.policy).toMatchObject({ version: 1, document: { rates: { H100: 1, B200: 2 } } });
    expect(pool.body.capacity.map((c: { id: string }) => c.id).sort()).toEqual(['north-h100', 'south-b200']);
    expect(pool.body.allocations.byStatus).toEqual({ active: 1 });
    const at = (iso: string, site: string) => pool.body.series.find((p: { at: string; site: string }) => p.at.startsWith(iso) && p.site === site);
    expect(at('2026-12-01', 'north')).toMatchObject({ gpuType: 'H100', capacity: 0, allocated: 0 });
    expect(at('2027-04-', 'north')).toMatchObject({ gpuType: 'H100', capacity: 64, allocated: 16, reserved: 0 });
    // Past its planned end the grant still holds its GPUs until it is released: the read counts them.
    expect(at('2027-10-', 'north')).toMatchObject({ capacity: 64, allocated: 16 });
    expect(pool.body.capacity.find((c: { id: string }) => c.id === 'north-h100')).toMatchObject({ held: 16 });
    expect(at('2027-04-', 'south')).toMatchObject({ gpuType: 'B200', capacity: 16, allocated: 0 });
    const docs = await http.get('/docs/json').expect(200);
    expect(Object.keys(docs.body.paths)).toEqual(expect.arrayContaining(['/v1/gpu/pool', '/v1/gpu/capacity']));
  });

  it('lets admins and program managers set the pool policy as a new version (400 per field, 409 when stale); allocations record it', async () => {
    const http = request(api.getHttpServer());
    const current = await http.get('/v1/gpu/policy').set('Authorization', token('auditor')).expect(200);
    expect(current.body).toMatchObject({ version: 1, policy: { lessorConflict: 'exclude_while_in_use', reallocation: 'to_pool' }, history: [{ version: 1 }] });
    const next = { ...current.body.policy, reallocation: 'to_remaining_grants', lessorConflict: 'lessors_receive_none', basedOnVersion: 1 };
    await http.put('/v1/gpu/policy').send(next).expect(401);
    await http.put('/v1/gpu/policy').set('Authorization', token('auditor')).send(next).expect(403);
    const invalid = await http
      .put('/v1/gpu/policy')
      .set('Authorization', pm)
      .send({ ...next, rates: { H100: -1 }, lessorConflict: 'first_come', reallocation: 'anywhere', throttle: { gpuFraction: 2 } })
      .expect(400);
    expect(invalid.body.fields.map((f: { field: string }) => f.field)).toEqual(expect.arrayContaining(['rates.H100', 'lessorConflict', 'reallocation', 'throttle.gpuFraction']));
    const set = await http.put('/v1/gpu/policy').set('Authorization', pm).send(next).expect(200);
    expect(set.body).toMatchObject({ version: 2, changed: true, createdBy: 'program_manager-1', policy: { reallocation: 'to_remaining_grants', lessorConflict: 'lessors_receive_none' } });
    expect((await http.put('/v1/gpu/policy').set('Authorization', token('admin')).send(next).expect(200)).body).toMatchObject({ version: 2, changed: false });
    const stale = await http.put('/v1/gpu/policy').set('Authorization', token('admin')).send({ ...next, reallocation: 'to_pool' }).expect(409);
    expect(stale.body.message).toMatch(/version 2/);
    const allocation = await api.get(GpuLedger).provision({
      idempotencyKey: 'grant:api:2027:t2#provision', grantId: 'grant:api:2027:t2', organisationId: 'org-t2',
      request: { alternatives: [{ type: 'B200', count: 4 }] }, window: { from: '2027-03-01T00:00:00Z', to: '2027-09-01T00:00:00Z' },
    });
    expect(allocation).toMatchObject({ status: 'active', policyVersion: 2 });
    const leased = await api.get(GpuLedger).provision({
      idempotencyKey: 'grant:api:2027:cloud#provision', grantId: 'grant:api:2027:cloud', organisationId: 'org-cloud',
      request: { alternatives: [{ type: 'B200', count: 4 }] }, window: { from: '2027-03-01T00:00:00Z', to: '2027-09-01T00:00:00Z' },
    });
    expect(leased).toMatchObject({ status: 'refused', refusal: { reason: 'lessor_conflict', rule: 'lessors_receive_none', capacity: [{ capacityId: 'north-h100' }] } });
    const events = await database.db.query(`SELECT type FROM events WHERE stream_id = 'gpu-pool' AND type = 'GpuPoolPolicyChanged'`);
    expect(events).toHaveLength(1);
    const docs = await http.get('/docs/json').expect(200);
    expect(Object.keys(docs.body.paths['/v1/gpu/policy'])).toEqual(expect.arrayContaining(['get', 'put']));
  });
});
