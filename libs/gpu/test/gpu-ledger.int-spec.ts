import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { ApplicationFailure } from '@temporalio/common';
import {
  GpuLedger,
  GpuProviders,
  GpuProvisioningActivities,
  LedgerProvider,
  gpuStreamId,
  type ProvisionGrantInput,
} from '@concentra/gpu';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

/** The pool ledger on real PostgreSQL, with the ledger-only provider (Slurm has its own test file). */
describe('GPU pool ledger (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;
  let ledger: GpuLedger;
  let gpu: GpuProvisioningActivities;
  const window = { from: '2027-03-01T00:00:00.000Z', to: '2027-09-01T00:00:00.000Z' };
  const actor = { role: 'program_manager', subject: 'pm-1' };
  const provision = (grant: string, overrides: Partial<ProvisionGrantInput> = {}): ProvisionGrantInput => ({
    idempotencyKey: `grant:${grant}#provision`,
    grantId: `grant:${grant}`,
    organisationId: `org-${grant.split(':').at(-1)}`,
    request: { alternatives: [{ type: 'H100', count: 8 }] },
    window,
    ...overrides,
  });
  const streamTypes = async (grant: string) => (await store.readStream(gpuStreamId(`grant:${grant}`))).map((e) => e.type);

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
    ledger = new GpuLedger(database.db, store, new GpuProviders([new LedgerProvider(database.db)]));
    gpu = new GpuProvisioningActivities(ledger);
  });
  afterAll(async () => database?.drop());

  it('N parallel requests against a pool that fits N-1: exactly one refused, never over capacity', async () => {
    const N = 12;
    await ledger.registerCapacity(
      { id: 'conc-h100', site: 'conc', cluster: 'conc', provider: 'ledger', gpuType: 'H100', count: (N - 1) * 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' },
      actor,
    );
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => gpu.provisionGrant(provision(`conc:2027:t${i}`, { preferSite: 'conc', request: { alternatives: [{ type: 'H100', count: 8 }] } }))),
    );
    const refused = results.filter((r) => r.status === 'refused');
    expect(refused).toHaveLength(1);
    expect(refused[0].refusal).toMatchObject({ reason: 'insufficient_capacity' });
    expect(results.filter((r) => r.status === 'active')).toHaveLength(N - 1);
    const [{ held }] = await database.db.query(
      `SELECT coalesce(sum(count), 0)::int AS held FROM gpu_allocations WHERE capacity_id = 'conc-h100' AND status IN ('reserved', 'active')`,
    );
    expect(held).toBe((N - 1) * 8);
    expect(await streamTypes(`conc:2027:t${results.indexOf(refused[0])}`)).toEqual(['GpuRequestRefused']);

    // Released capacity goes back to the pool: the refused team gets it on a new request.
    const first = results.find((r) => r.status === 'active')!;
    const released = await gpu.releaseGrant({ idempotencyKey: `${first.grantId}#release`, grantId: first.grantId, reason: 'eliminated' });
    expect(released).toMatchObject({ released: true, freed: { type: 'H100', count: 8, capacityId: 'conc-h100' } });
    const again = await gpu.provisionGrant(provision(`conc:2027:t${results.indexOf(refused[0])}`, { idempotencyKey: `grant:conc:2027:t${results.indexOf(refused[0])}#provision-2` }));
    expect(again).toMatchObject({ status: 'active', served: { capacityId: 'conc-h100', count: 8 } });
  });

  it('never over capacity when concurrent requests spread over alternatives, when grants hold past their planned end, and when a raise and a request compete', async () => {
    await ledger.registerCapacity({ id: 'mix-l40s', site: 'mix', cluster: 'mix', provider: 'ledger', gpuType: 'L40S', count: 4, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    await ledger.registerCapacity({ id: 'mix-l4', site: 'mix', cluster: 'mix', provider: 'ledger', gpuType: 'L4', count: 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    const w = { from: '2040-01-01T00:00:00.000Z', to: '2040-03-01T00:00:00.000Z' };
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        gpu.provisionGrant(provision(`mix:2040:t${i}`, { window: w, preferSite: 'mix', request: { alternatives: [{ type: 'L40S', count: 2 }, { type: 'L4', count: 4 }] } })),
      ),
    );
    const held = async (capacityId: string) =>
      (await database.db.query(`SELECT coalesce(sum(count), 0)::int AS n FROM gpu_allocations WHERE capacity_id = $1 AND status IN ('reserved', 'active')`, [capacityId]))[0].n;
    const active = results.filter((r) => r.status === 'active');
    // 2 fit on the L40S (4), 2 on the L4 (8): exactly one of the five is refused.
    expect(active).toHaveLength(4);
    expect(results.filter((r) => r.status === 'refused')).toHaveLength(1);
    expect(await held('mix-l40s')).toBe(4);
    expect(await held('mix-l4')).toBe(8);

    // A grant holds its GPUs until it is released, past its planned end: c, planned to start when a
    // and b are planned to end, is refused while they still hold (the refill-over-capacity bug).
    await ledger.registerCapacity({ id: 'ext-a100', site: 'ext', cluster: 'ext', provider: 'ledger', gpuType: 'A100', count: 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    const a100 = (grant: string, window: { from: string; to: string }, key?: string) =>
      provision(grant, { window, request: { alternatives: [{ type: 'A100', count: 4 }] }, ...(key ? { idempotencyKey: key } : {}) });
    await gpu.provisionGrant(a100('ext:2041:a', { from: '2041-01-01T00:00:00.000Z', to: '2041-02-01T00:00:00.000Z' }));
    await gpu.provisionGrant(a100('ext:2041:b', { from: '2041-01-01T00:00:00.000Z', to: '2041-02-01T00:00:00.000Z' }));
    const c = await gpu.provisionGrant(a100('ext:2041:c', { from: '2041-02-01T00:00:00.000Z', to: '2041-03-01T00:00:00.000Z' }));
    expect(c).toMatchObject({ status: 'refused', refusal: { reason: 'insufficient_capacity', rule: 'capacity', retryable: true, capacity: [{ capacityId: 'ext-a100', held: 8, free: 0, why: 'full' }] } });
    // Extending a window takes nothing more: both extensions go through, concurrently.
    const extensions = await Promise.all(
      ['a', 'b'].map((t) => gpu.changeGrant({ idempotencyKey: `grant:ext:2041:${t}#extend-1`, grantId: `grant:ext:2041:${t}`, extendTo: '2041-03-01T00:00:00.000Z' })),
    );
    expect(extensions.map((e) => e.outcome)).toEqual(['changed', 'changed']);
    // b leaves; a raise of a (to 8) and c's new request (4) compete for the 4 freed: exactly one wins.
    await gpu.releaseGrant({ idempotencyKey: 'grant:ext:2041:b#release', grantId: 'grant:ext:2041:b', reason: 'eliminated' });
    const [raise, again] = await Promise.all([
      gpu.changeGrant({ idempotencyKey: 'grant:ext:2041:a#realloc-1', grantId: 'grant:ext:2041:a', limits: { gpus: 8 } }),
      gpu.provisionGrant(a100('ext:2041:c', { from: '2041-02-01T00:00:00.000Z', to: '2041-03-01T00:00:00.000Z' }, 'grant:ext:2041:c#provision-2')),
    ]);
    expect([raise.outcome === 'changed', again.status === 'active'].filter(Boolean)).toHaveLength(1);
    expect(await held('ext-a100')).toBe(8);
  });

  it('serves a B200 request as H100 at the policy rate (1 B200 = 2 H100) when B200 runs out, and records it', async () => {
    await ledger.registerCapacity({ id: 'eq-b200', site: 'eq-a', cluster: 'eq-a', provider: 'ledger', gpuType: 'B200', count: 4, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    await ledger.registerCapacity({ id: 'eq-h100', site: 'eq-b', cluster: 'eq-b', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    const request = { equivalentTo: { type: 'B200', count: 4 }, acceptTypes: ['B200', 'H100'] };
    const a = await gpu.provisionGrant(provision('eq:2027:a', { request, gpuMinutes: 4 * 60 * 100 }));
    expect(a).toMatchObject({ status: 'active', served: { type: 'B200', count: 4, capacityId: 'eq-b200', rate: 1 }, gpuMinutes: 24_000 });
    const b = await gpu.provisionGrant(provision('eq:2027:b', { request, gpuMinutes: 4 * 60 * 100 }));
    // B200 is gone; 4 B200 = 8 H100, and the GPU-minutes budget doubles with the count.
    expect(b).toMatchObject({ status: 'active', served: { type: 'H100', count: 8, capacityId: 'eq-h100', rate: 0.5 }, gpuMinutes: 48_000 });
    const [reserved] = (await store.readStream(gpuStreamId('grant:eq:2027:b'))).filter((e) => e.type === 'GpusReserved');
    expect(reserved.data).toMatchObject({ servedAsRequested: false, served: { type: 'H100', count: 8 }, request: { equivalentTo: { type: 'B200', count: 4 } }, policyVersion: 1 });
    const c = await gpu.provisionGrant(provision('eq:2027:c', { request }));
    expect(c).toMatchObject({ status: 'refused', refusal: { reason: 'insufficient_capacity' } });
    // Explicit alternatives ("512 B200 or 1,024 H100" in small) are served from whichever is free.
    await gpu.releaseGrant({ idempotencyKey: 'grant:eq:2027:b#release', grantId: 'grant:eq:2027:b', reason: 'ended' });
    const d = await gpu.provisionGrant(provision('eq:2027:d', { request: { alternatives: [{ type: 'B200', count: 4 }, { type: 'H100', count: 8 }] } }));
    expect(d).toMatchObject({ status: 'active', served: { type: 'H100', count: 8 } });
  });

  it('is idempotent: a retried provision, change or release does it once; a reused key with another input is refused', async () => {
    await ledger.registerCapacity({ id: 'idem-h100', site: 'idem', cluster: 'idem', provider: 'ledger', gpuType: 'H200', count: 16, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z', availableUntil: '2028-01-01T00:00:00Z' }, actor);
    const input = provision('idem:2027:a', { request: { alternatives: [{ type: 'H200', count: 8 }] } });
    const [one, two] = await Promise.all([gpu.provisionGrant(input), gpu.provisionGrant(input)]);
    expect(two).toEqual(one);
    expect(await gpu.provisionGrant(input)).toEqual(one);
    const [{ n }] = await database.db.query(`SELECT count(*)::int AS n FROM gpu_allocations WHERE grant_id = 'grant:idem:2027:a'`);
    expect(n).toBe(1);
    await expect(gpu.provisionGrant({ ...input, request: { alternatives: [{ type: 'H200', count: 9 }] } })).rejects.toMatchObject({ type: 'GpuIdempotencyConflict', nonRetryable: true });
    await expect(gpu.provisionGrant({ ...input, idempotencyKey: 'other-key' })).rejects.toBeInstanceOf(ApplicationFailure);

    const extend = { idempotencyKey: 'grant:idem:2027:a#extend-1', grantId: 'grant:idem:2027:a', extendTo: '2027-12-01T00:00:00.000Z' };
    const changed = await gpu.changeGrant(extend);
    expect(changed).toMatchObject({ outcome: 'changed', allocation: { window: { to: '2027-12-01T00:00:00.000Z' } } });
    expect(await gpu.changeGrant(extend)).toEqual(changed);
    const tooLong = await gpu.changeGrant({ ...extend, idempotencyKey: 'grant:idem:2027:a#extend-2', extendTo: '2028-06-01T00:00:00.000Z' });
    expect(tooLong).toMatchObject({ outcome: 'refused', refusal: { reason: 'insufficient_capacity' }, allocation: { window: { to: '2027-12-01T00:00:00.000Z' } } });

    const release = { idempotencyKey: 'grant:idem:2027:a#release', grantId: 'grant:idem:2027:a', reason: 'ended' };
    const [r1, r2] = await Promise.all([gpu.releaseGrant(release), gpu.releaseGrant(release)]);
    expect(r1).toEqual(r2);
    expect(r1.released).toBe(true);
    expect(await gpu.releaseGrant({ ...release, idempotencyKey: 'grant:idem:2027:a#release-cancel', reason: 'cancelled' })).toMatchObject({ released: false });
    expect(await streamTypes('idem:2027:a')).toEqual(['GpusReserved', 'GpusAllocated', 'GpuAllocationChanged', 'GpuChangeRefused', 'GpusReleased']);
    // The ledger-only provider's account is gone with the release.
    expect(await database.db.query(`SELECT * FROM gpu_ledger_accounts WHERE grant_id = 'grant:idem:2027:a'`)).toEqual([]);
  });

  it('a cycle behind its planned dates: a provision or an extension whose end is not after the start plans two years, and nothing fails', async () => {
    await ledger.registerCapacity({ id: 'late-h100', site: 'late', cluster: 'late', provider: 'ledger', gpuType: 'B200', count: 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    const from = '2032-03-01T00:00:00.000Z';
    const twoYears = '2034-03-01T00:00:00.000Z'; // from + 2 × 365 days (no 29 February between)
    // The grant stage's planned end had passed when the grant started (a worker was down at its deadline).
    const late = await gpu.provisionGrant(provision('late:2032:a', { request: { alternatives: [{ type: 'B200', count: 8 }] }, window: { from, to: '2032-02-28T00:00:00.000Z' } }));
    expect(late).toMatchObject({ status: 'active', window: { from, to: twoYears } });
    // Its extension was planned to end before the grant started: a change, not a failure of the grant.
    const extended = await gpu.changeGrant({ idempotencyKey: 'grant:late:2032:a#extend-1', grantId: 'grant:late:2032:a', extendTo: '2032-02-29T00:00:00.000Z' });
    expect(extended).toMatchObject({ outcome: 'changed', allocation: { window: { from, to: twoYears } } });
    // An extension that does end after the start is taken as asked.
    const onTime = await gpu.changeGrant({ idempotencyKey: 'grant:late:2032:a#extend-2', grantId: 'grant:late:2032:a', extendTo: '2034-06-01T00:00:00.000Z' });
    expect(onTime).toMatchObject({ outcome: 'changed', allocation: { window: { to: '2034-06-01T00:00:00.000Z' } } });
  });

  it('excludes a lessor from GPU support while its lease runs (policy), and allows it when the policy says so', async () => {
    await ledger.registerCapacity({ id: 'les-lessor', site: 'les', cluster: 'les', provider: 'ledger', gpuType: 'H100', count: 9, ownership: 'leased', lessorOrganisationId: 'org-lessor', availableFrom: '2026-01-01T00:00:00Z', availableUntil: '2030-01-01T00:00:00Z' }, actor);
    const window2 = { from: '2031-01-01T00:00:00.000Z', to: '2031-06-01T00:00:00.000Z' };
    await ledger.registerCapacity({ id: 'les-owned', site: 'les', cluster: 'les', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2030-06-01T00:00:00Z' }, actor);
    // Someone else uses the lessor's capacity ...
    const user = await gpu.provisionGrant(provision('les:2027:user', { preferSite: 'les', window: { from: '2027-01-01T00:00:00.000Z', to: '2027-06-01T00:00:00.000Z' } }));
    expect(user).toMatchObject({ status: 'active', served: { capacityId: 'les-lessor' } });
    // ... so the lessor itself is refused for an overlapping window,
    const lessor = await gpu.provisionGrant(provision('les:2027:lessor', { organisationId: 'org-lessor', window: { from: '2027-02-01T00:00:00.000Z', to: '2027-05-01T00:00:00.000Z' }, request: { alternatives: [{ type: 'H100', count: 1 }] } }));
    expect(lessor).toMatchObject({ status: 'refused', refusal: { reason: 'lessor_conflict' } });
    // ... but served when its capacity is not in use.
    const later = await gpu.provisionGrant(provision('les:2027:lessor-later', { organisationId: 'org-lessor', preferSite: 'les', window: window2 }));
    expect(later).toMatchObject({ status: 'active', served: { capacityId: 'les-owned' } });
    // The policy is data: allowing lessors changes the decision, recorded under the new version.
    const current = await ledger.policy();
    await ledger.setPolicy({ ...current.policy, lessorConflict: 'allow' }, 'pm-1');
    const allowed = await gpu.provisionGrant(provision('les:2027:lessor', { idempotencyKey: 'grant:les:2027:lessor#provision-2', organisationId: 'org-lessor', window: { from: '2027-02-01T00:00:00.000Z', to: '2027-05-01T00:00:00.000Z' }, request: { alternatives: [{ type: 'H100', count: 1 }] } }));
    expect(allowed.status).toBe('active');
    await ledger.setPolicy(current.policy, 'pm-1');
  });

  it('meters usage against the granted GPU-hours and reports thresholds once', async () => {
    await ledger.registerCapacity({ id: 'met-h100', site: 'met', cluster: 'met', provider: 'ledger', gpuType: 'H100', count: 8, ownership: 'owned', availableFrom: '2026-01-01T00:00:00Z' }, actor);
    const a = await gpu.provisionGrant(provision('met:2027:a', { preferSite: 'met', request: { alternatives: [{ type: 'H100', count: 2 }] }, gpuMinutes: 600 }));
    expect(a.status).toBe('active');
    // The ledger-only provider measures nothing: usage recorded earlier (e.g. a final Slurm reading) stays.
    await database.db.query(`UPDATE gpu_allocations SET gpu_minutes_used = 500 WHERE grant_id = 'grant:met:2027:a'`);
    const m1 = await gpu.meterUsage({ idempotencyKey: 'grant:met:2027:a#meter-1', grantId: 'grant:met:2027:a' });
    expect(m1.gpuHoursUsed).toBeCloseTo(500 / 60, 5);
    expect(m1).toMatchObject({ gpuHoursGranted: 10, newlyCrossed: [{ atFraction: 0.8, action: 'warn' }], action: 'warn' });
    expect(await gpu.meterUsage({ idempotencyKey: 'grant:met:2027:a#meter-1', grantId: 'grant:met:2027:a' })).toEqual(m1);
    const m2 = await gpu.meterUsage({ idempotencyKey: 'grant:met:2027:a#meter-2', grantId: 'grant:met:2027:a' });
    expect(m2).toMatchObject({ newlyCrossed: [], action: 'none' });
    await database.db.query(`UPDATE gpu_allocations SET gpu_minutes_used = 650 WHERE grant_id = 'grant:met:2027:a'`);
    const m3 = await gpu.meterUsage({ idempotencyKey: 'grant:met:2027:a#meter-3', grantId: 'grant:met:2027:a' });
    expect(m3).toMatchObject({ newlyCrossed: [{ atFraction: 1, action: 'suspend' }], action: 'suspend' });
    await gpu.changeGrant({ idempotencyKey: 'grant:met:2027:a#throttle-1', grantId: 'grant:met:2027:a', mode: 'suspended' });
    const m4 = await gpu.meterUsage({ idempotencyKey: 'grant:met:2027:a#meter-4', grantId: 'grant:met:2027:a' });
    expect(m4).toMatchObject({ action: 'none', crossed: [{ atFraction: 0.8 }, { atFraction: 1 }] });
    expect((await streamTypes('met:2027:a')).filter((t) => t === 'GpuUsageThresholdCrossed')).toHaveLength(2);
    expect(await store.readStream('gpu-pool')).not.toHaveLength(0);
  });
});
