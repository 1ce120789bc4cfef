import { EventStore, PROJECTIONS } from '@concentra/persistence';
import {
  GpuLedger,
  GpuPoolReads,
  GpuProviders,
  GpuProvisioningActivities,
  LedgerProvider,
  gpuStreamId,
  type GpuRequest,
  type LessorRule,
  type ProvisionGrantResult,
} from '@concentra/gpu';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

/** The pool's rules on real PostgreSQL: holding through later rounds, lessor rules independent of order, partial grants. */
describe('GPU pool rules (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;
  let ledger: GpuLedger;
  let gpu: GpuProvisioningActivities;
  let reads: GpuPoolReads;
  const actor = { role: 'program_manager', subject: 'pm-1' };
  const live = async (capacityId: string) =>
    (await database.db.query(`SELECT coalesce(sum(count), 0)::int AS n FROM gpu_allocations WHERE capacity_id = $1 AND status IN ('reserved', 'active')`, [capacityId]))[0].n as number;
  const releaseAll = async (prefix: string) => {
    const rows = (await database.db.query(`SELECT grant_id FROM gpu_allocations WHERE grant_id LIKE $1 AND status IN ('reserved', 'active')`, [`${prefix}%`])) as { grant_id: string }[];
    for (const r of rows) await gpu.releaseGrant({ idempotencyKey: `${r.grant_id}#release`, grantId: r.grant_id, reason: 'ended' });
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
    ledger = new GpuLedger(database.db, store, new GpuProviders([new LedgerProvider(database.db)]));
    gpu = new GpuProvisioningActivities(ledger);
    reads = new GpuPoolReads(database.db);
  });
  afterAll(async () => database?.drop());

  it('three teams hold 512 each through a later evaluation round: a refill entrant is served elsewhere or refused, never over capacity', async () => {
    for (const site of ['north', 'south']) {
      await ledger.registerCapacity({ id: `sc-${site}`, site, cluster: site, provider: 'ledger', gpuType: 'GH200', count: 1024, ownership: 'owned', availableFrom: '2030-01-01T00:00:00Z' }, actor);
    }
    const ask = (team: string, window: { from: string; to: string }, preferSite?: string) =>
      gpu.provisionGrant({
        idempotencyKey: `grant:sc:2040:${team}#provision`, grantId: `grant:sc:2040:${team}`, organisationId: `org-${team}`,
        request: { alternatives: [{ type: 'GH200', count: 512 }] }, window, ...(preferSite ? { preferSite } : {}),
      });
    const grantStage = { from: '2040-03-01T00:00:00.000Z', to: '2040-09-01T00:00:00.000Z' };
    const teams = await Promise.all(['a', 'b', 'c'].map((t) => ask(t, grantStage, 'north')));
    expect(teams.map((t) => t.status)).toEqual(['active', 'active', 'active']);
    expect(await live('sc-north')).toBe(1024);
    expect(await live('sc-south')).toBe(512);
    // A later evaluation round: two grants get their windows extended; the third is kept past its
    // planned end without an extension (the engine's old habit). All three still hold their GPUs.
    for (const t of ['a', 'b']) {
      const extended = await gpu.changeGrant({ idempotencyKey: `grant:sc:2040:${t}#extend-1`, grantId: `grant:sc:2040:${t}`, extendTo: '2041-03-01T00:00:00.000Z' });
      expect(extended.outcome).toBe('changed');
    }
    // The refill entrant asks for 512 from after the grant stage, preferring the full row: served elsewhere.
    const refill = { from: '2040-10-01T00:00:00.000Z', to: '2041-04-01T00:00:00.000Z' };
    const entrant = await ask('refill-1', refill, 'north');
    expect(entrant).toMatchObject({ status: 'active', served: { capacityId: 'sc-south', count: 512 } });
    // A second entrant finds both rows full and is refused with the rows and what they hold.
    const second = await ask('refill-2', refill, 'north');
    expect(second).toMatchObject({
      status: 'refused',
      refusal: {
        reason: 'insufficient_capacity', rule: 'capacity', retryable: true,
        capacity: expect.arrayContaining([
          expect.objectContaining({ capacityId: 'sc-north', held: 1024, free: 0, why: 'full' }),
          expect.objectContaining({ capacityId: 'sc-south', held: 1024, free: 0, why: 'full' }),
        ]),
      },
    });
    expect(second.status === 'refused' && second.refusal.message).toMatch(/held from reservation until release/);
    expect(await live('sc-north')).toBe(1024);
    expect(await live('sc-south')).toBe(1024);
    // The pool read agrees with the allocations table, by row and over time (also past the planned ends).
    const pool = await reads.pool({ from: new Date('2040-01-01T00:00:00Z'), to: new Date('2041-06-01T00:00:00Z'), step: '1 month' });
    expect(pool.capacity.filter((c) => c.id.startsWith('sc-')).map((c) => [c.id, c.held])).toEqual([['sc-north', 1024], ['sc-south', 1024]]);
    const at = (iso: string, site: string) => pool.series.find((p) => p.at.startsWith(iso) && p.site === site && p.gpuType === 'GH200')!;
    expect(at('2040-04-01', 'north')).toMatchObject({ capacity: 1024, allocated: 1024 });
    expect(at('2040-04-01', 'south')).toMatchObject({ capacity: 1024, allocated: 512 });
    expect(at('2040-11-01', 'north')).toMatchObject({ allocated: 1024 });
    expect(at('2040-11-01', 'south')).toMatchObject({ allocated: 1024 }); // c, past its planned end, and the entrant
    for (const p of pool.series) expect(p.reserved + p.allocated).toBeLessThanOrEqual(p.capacity);
    // The refused entrant is served once a team leaves, on the row that team gave back (which row c
    // got depends on which of the three parallel requests came last).
    const freed = await gpu.releaseGrant({ idempotencyKey: 'grant:sc:2040:c#release', grantId: 'grant:sc:2040:c', reason: 'eliminated' });
    const retry = await gpu.provisionGrant({
      idempotencyKey: 'grant:sc:2040:refill-2#provision-2', grantId: 'grant:sc:2040:refill-2', organisationId: 'org-refill-2',
      request: { alternatives: [{ type: 'GH200', count: 512 }] }, window: refill,
    });
    expect(retry).toMatchObject({ status: 'active', served: { capacityId: freed.freed!.capacityId } });
    await releaseAll('grant:sc:');
  });

  it('lessors ranked first or last give the same allocation to every non-lessor team, under both lessor rules', async () => {
    const window = { from: '2050-03-01T00:00:00.000Z', to: '2050-09-01T00:00:00.000Z' };
    await ledger.registerCapacity({ id: 'ls-b200', site: 'ls-a', cluster: 'ls-a', provider: 'ledger', gpuType: 'B200', count: 1024, ownership: 'owned', availableFrom: '2049-01-01T00:00:00Z' }, actor);
    await ledger.registerCapacity({ id: 'ls-h100-l1', site: 'ls-b', cluster: 'ls-b', provider: 'ledger', gpuType: 'H100', count: 1024, ownership: 'leased', lessorOrganisationId: 'org-lessor-1', availableFrom: '2049-01-01T00:00:00Z', availableUntil: '2052-01-01T00:00:00Z' }, actor);
    await ledger.registerCapacity({ id: 'ls-h200-l2', site: 'ls-c', cluster: 'ls-c', provider: 'ledger', gpuType: 'H200', count: 683, ownership: 'leased', lessorOrganisationId: 'org-lessor-2', availableFrom: '2049-01-01T00:00:00Z', availableUntil: '2052-01-01T00:00:00Z' }, actor);
    // org-lessor-3's lease ended before this window: a lessor in the past, not now.
    await ledger.registerCapacity({ id: 'ls-h100-l3', site: 'ls-d', cluster: 'ls-d', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'leased', lessorOrganisationId: 'org-lessor-3', availableFrom: '2048-01-01T00:00:00Z', availableUntil: '2049-01-01T00:00:00Z' }, actor);
    const request: GpuRequest = { equivalentTo: { type: 'B200', count: 512 }, acceptTypes: ['B200', 'H100', 'H200'] };
    const nonLessors = ['n1', 'n2', 'n3', 'n4'];
    const lessors = ['lessor-1', 'lessor-2'];
    const original = await ledger.policy();

    const runOrder = async (rule: LessorRule, label: string, order: string[]) => {
      const results: Record<string, ProvisionGrantResult> = {};
      for (const team of order) {
        const grantId = `grant:ls-${label}:2050:${team}`;
        results[team] = await gpu.provisionGrant({ idempotencyKey: `${grantId}#provision`, grantId, organisationId: `org-${team}`, request, window });
      }
      const held = { b200: await live('ls-b200'), l1: await live('ls-h100-l1'), l2: await live('ls-h200-l2') };
      await releaseAll(`grant:ls-${label}:`);
      return { results, held };
    };
    const served = (r: ProvisionGrantResult) => (r.status === 'active' ? `${r.served.count} ${r.served.type} on ${r.served.capacityId}` : `refused: ${r.refusal?.reason}`);

    for (const rule of ['lessors_receive_none', 'exclude_while_in_use'] as const) {
      const stored = await ledger.setPolicy({ ...original.policy, lessorConflict: rule }, actor);
      const first = await runOrder(rule, `${rule}-first`, [...lessors, ...nonLessors]);
      const last = await runOrder(rule, `${rule}-last`, [...nonLessors, ...lessors]);
      const interleaved = await runOrder(rule, `${rule}-mid`, ['n1', 'lessor-2', 'n2', 'n3', 'lessor-1', 'n4']);
      for (const team of nonLessors) {
        expect(served(first.results[team])).toEqual(served(last.results[team]));
        expect(served(interleaved.results[team])).toEqual(served(last.results[team]));
      }
      // Two B200 grants, then the lessors' leased capacity serves the others: no exclusion withholds it.
      expect(nonLessors.map((t) => served(last.results[t]))).toEqual([
        '512 B200 on ls-b200', '512 B200 on ls-b200', '1024 H100 on ls-h100-l1', '683 H200 on ls-h200-l2',
      ]);
      expect(first.held).toEqual(last.held);
      for (const team of lessors) {
        const r = first.results[team];
        expect(r).toMatchObject({ status: 'refused', policyVersion: stored.version, refusal: { reason: 'lessor_conflict', rule, retryable: false, policyVersion: stored.version } });
        expect(r.refusal!.capacity!.map((c) => c.capacityId)).toEqual([team === 'lessor-1' ? 'ls-h100-l1' : 'ls-h200-l2']);
        expect(r.refusal!.message).toContain(rule);
        expect(served(last.results[team])).toEqual(served(r));
      }
      const [refusedEvent] = (await store.readStream(gpuStreamId(`grant:ls-${rule}-first:2050:lessor-1`))).filter((e) => e.type === 'GpuRequestRefused');
      expect(refusedEvent.data).toMatchObject({ reason: 'lessor_conflict', rule, capacity: [{ capacityId: 'ls-h100-l1', count: 1024 }] });
    }

    // A former lessor is served under exclude_while_in_use (its lease has ended), and not under lessors_receive_none only while a lease runs.
    const ask = (label: string) =>
      gpu.provisionGrant({ idempotencyKey: `grant:ls-former-${label}:2050:l3#provision`, grantId: `grant:ls-former-${label}:2050:l3`, organisationId: 'org-lessor-3', request, window });
    expect((await ask('in-use')).status).toBe('active');
    await releaseAll('grant:ls-former-');
    await ledger.setPolicy({ ...original.policy, lessorConflict: 'lessors_receive_none' }, actor);
    expect((await ask('none')).status).toBe('active');
    await releaseAll('grant:ls-former-');
    // A lessor served outside its lease may not extend into it under exclude_while_in_use.
    await ledger.setPolicy({ ...original.policy, lessorConflict: 'exclude_while_in_use' }, actor);
    await ledger.registerCapacity({ id: 'ls-h100-l3-next', site: 'ls-d', cluster: 'ls-d', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'leased', lessorOrganisationId: 'org-lessor-3', availableFrom: '2051-01-01T00:00:00Z', availableUntil: '2052-01-01T00:00:00Z' }, actor);
    expect((await ask('extend')).status).toBe('active');
    const extension = await gpu.changeGrant({ idempotencyKey: 'grant:ls-former-extend:2050:l3#extend-1', grantId: 'grant:ls-former-extend:2050:l3', extendTo: '2051-06-01T00:00:00.000Z' });
    expect(extension).toMatchObject({ outcome: 'refused', refusal: { reason: 'lessor_conflict', rule: 'exclude_while_in_use', capacity: [{ capacityId: 'ls-h100-l3-next' }] } });
    await releaseAll('grant:ls-former-');
    await ledger.setPolicy(original.policy, actor);
  });

  it('serves part of a request when the caller accepts it, records the shortfall, and raises it once capacity frees', async () => {
    await ledger.registerCapacity({ id: 'pt-l40', site: 'pt', cluster: 'pt', provider: 'ledger', gpuType: 'L40', count: 10, ownership: 'owned', availableFrom: '2030-01-01T00:00:00Z' }, actor);
    const window = { from: '2060-01-01T00:00:00.000Z', to: '2060-07-01T00:00:00.000Z' };
    const first = await gpu.provisionGrant({ idempotencyKey: 'grant:pt:1#provision', grantId: 'grant:pt:1', organisationId: 'org-1', request: { alternatives: [{ type: 'L40', count: 6 }] }, window });
    expect(first).toMatchObject({ status: 'active', shortfall: 0 });
    const refused = await gpu.provisionGrant({ idempotencyKey: 'grant:pt:2#provision', grantId: 'grant:pt:2', organisationId: 'org-2', request: { alternatives: [{ type: 'L40', count: 8 }] }, window, acceptPartial: { atLeast: 5 } });
    expect(refused).toMatchObject({ status: 'refused', refusal: { reason: 'insufficient_capacity', retryable: true } });
    const partial = await gpu.provisionGrant({ idempotencyKey: 'grant:pt:2#provision-2', grantId: 'grant:pt:2', organisationId: 'org-2', request: { alternatives: [{ type: 'L40', count: 8 }] }, window, acceptPartial: { atLeast: 4 }, gpuMinutes: 8000 });
    expect(partial).toMatchObject({ status: 'active', served: { count: 4 }, shortfall: 4, gpuMinutes: 4000 });
    await gpu.releaseGrant({ idempotencyKey: 'grant:pt:1#release', grantId: 'grant:pt:1', reason: 'eliminated' });
    const raised = await gpu.changeGrant({ idempotencyKey: 'grant:pt:2#top-up-1', grantId: 'grant:pt:2', limits: { gpus: 4 + partial.shortfall } });
    expect(raised).toMatchObject({ outcome: 'changed', allocation: { served: { count: 8 }, shortfall: 0 } });
    expect(await live('pt-l40')).toBe(8);
    await releaseAll('grant:pt:');
  });
});
