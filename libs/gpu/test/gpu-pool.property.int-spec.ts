import fc from 'fast-check';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import {
  GpuLedger,
  GpuPoolReads,
  GpuProviders,
  GpuProvisioningActivities,
  LedgerProvider,
  alternativesFor,
  type GpuRequest,
  type ProvisionGrantResult,
} from '@concentra/gpu';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';

/**
 * Property: whatever sequence of reserve / extend / change / release / refill (and bursts of
 * concurrent reserves) runs against the real ledger on PostgreSQL, after every step and at every
 * instant, what live allocations hold on a capacity row never exceeds it, and the pool read
 * (`GpuPoolReads.pool`, what `GET /v1/gpu/pool` serves) equals the sum of the live allocations.
 *
 * "Held" is what a grant really has: a live allocation holds its GPUs from its window's start until
 * it is released, also after its planned window has ended (a grant kept through evaluation rounds).
 */
describe('GPU pool ledger: never over capacity (property, PostgreSQL)', () => {
  let database: TestDatabase;
  let ledger: GpuLedger;
  let gpu: GpuProvisioningActivities;
  let reads: GpuPoolReads;
  const actor = { role: 'program_manager', subject: 'pm-1' };
  const MONTH0 = Date.UTC(2040, 0, 1);
  const month = (m: number) => new Date(Date.UTC(2040, m, 1)).toISOString();
  const READ = { from: new Date(MONTH0), to: new Date(Date.UTC(2046, 0, 1)), step: '1 month' };
  type AllocRow = { id: string; grant_id: string; capacity_id: string; count: number; window_from: Date; window_to: Date; status: string };
  type CapRow = { id: string; site: string; gpu_type: string; count: number; available_from: Date; available_until: Date | null };

  beforeAll(async () => {
    database = await createTestDatabase();
    const store = new EventStore(database.db, PROJECTIONS);
    ledger = new GpuLedger(database.db, store, new GpuProviders([new LedgerProvider(database.db)]));
    gpu = new GpuProvisioningActivities(ledger);
    reads = new GpuPoolReads(database.db);
    const rows = [
      { id: 'p-h100-a', site: 'a', gpuType: 'H100', count: 8, ownership: 'owned' as const, availableFrom: '2039-01-01T00:00:00Z' },
      { id: 'p-h100-b', site: 'b', gpuType: 'H100', count: 6, ownership: 'owned' as const, availableFrom: '2039-01-01T00:00:00Z' },
      { id: 'p-b200-c', site: 'c', gpuType: 'B200', count: 4, ownership: 'leased' as const, lessorOrganisationId: 'org-lessor', availableFrom: '2039-01-01T00:00:00Z', availableUntil: '2043-07-01T00:00:00Z' },
      { id: 'p-h200-d', site: 'd', gpuType: 'H200', count: 4, ownership: 'owned' as const, availableFrom: '2041-01-01T00:00:00Z' },
    ];
    for (const r of rows) await ledger.registerCapacity({ ...r, cluster: r.site, provider: 'ledger' }, actor);
  });
  afterAll(async () => database?.drop());

  const snapshot = async () => ({
    caps: (await database.db.query('SELECT * FROM gpu_capacity ORDER BY id')) as CapRow[],
    live: (await database.db.query(`SELECT * FROM gpu_allocations WHERE status IN ('reserved', 'active') ORDER BY id`)) as AllocRow[],
  });
  const availableAt = (c: CapRow, t: number) => c.available_from.getTime() <= t && (c.available_until === null || c.available_until.getTime() > t);
  const heldAt = (live: AllocRow[], capacityId: string, t: number) =>
    live.filter((a) => a.capacity_id === capacityId && a.window_from.getTime() <= t).reduce((n, a) => n + a.count, 0);

  /** The invariants, checked after every step. */
  async function check(step: string): Promise<void> {
    const { caps, live } = await snapshot();
    for (const c of caps) {
      const mine = live.filter((a) => a.capacity_id === c.id);
      // Every instant at which what is held can change: a row's arrival and each allocation's start
      // (nothing live ends before its release). Past its planned end an allocation is still counted.
      const instants = [c.available_from.getTime(), ...mine.map((a) => a.window_from.getTime()), ...mine.map((a) => a.window_to.getTime())];
      for (const t of instants.filter((i) => availableAt(c, i))) {
        const held = heldAt(live, c.id, t);
        if (held > c.count) throw new Error(`${step}: ${held} GPUs held on ${c.id} (${c.count}) at ${new Date(t).toISOString()}`);
      }
      for (const a of mine) {
        if (a.window_from < c.available_from || (c.available_until && a.window_to > c.available_until)) throw new Error(`${step}: ${a.id} planned outside ${c.id}'s availability`);
      }
    }
    const pool = await reads.pool(READ);
    for (const c of pool.capacity) {
      const sum = live.filter((a) => a.capacity_id === c.id).reduce((n, a) => n + a.count, 0);
      if (c.held !== sum) throw new Error(`${step}: pool read says ${c.held} held on ${c.id}, the allocations ${sum}`);
    }
    for (const p of pool.series) {
      const t = Date.parse(p.at);
      const rows = caps.filter((c) => c.site === p.site && c.gpu_type === p.gpuType && availableAt(c, t));
      const sum = rows.reduce((n, c) => n + heldAt(live, c.id, t), 0);
      if (p.reserved + p.allocated !== sum) throw new Error(`${step}: pool read at ${p.at} ${p.site}/${p.gpuType}: ${p.reserved + p.allocated}, allocations ${sum}`);
      if (sum > p.capacity) throw new Error(`${step}: ${sum} held of ${p.capacity} at ${p.at} ${p.site}/${p.gpuType}`);
    }
  }

  /** A refusal for lack of capacity is only right when no row could take any alternative before the step. */
  async function refusalWasRight(before: Awaited<ReturnType<typeof snapshot>>, request: GpuRequest, from: string, to: string): Promise<boolean> {
    const { policy } = await ledger.policy();
    return alternativesFor(request, policy).every((alt) =>
      before.caps
        .filter((c) => c.gpu_type === alt.type && c.available_from.getTime() <= Date.parse(from) && (c.available_until === null || c.available_until.getTime() >= Date.parse(to)))
        .every((c) => c.count - before.live.filter((a) => a.capacity_id === c.id).reduce((n, a) => n + a.count, 0) < alt.count),
    );
  }

  const team = fc.integer({ min: 0, max: 5 });
  const requestArb: fc.Arbitrary<GpuRequest> = fc.oneof(
    fc.integer({ min: 1, max: 6 }).map((n) => ({ alternatives: [{ type: 'H100', count: n }] })),
    fc.integer({ min: 1, max: 3 }).map((n) => ({ alternatives: [{ type: 'B200', count: n }, { type: 'H100', count: 2 * n }] })),
    fc.integer({ min: 1, max: 3 }).map((n) => ({ equivalentTo: { type: 'B200', count: n }, acceptTypes: ['B200', 'H200', 'H100'] })),
  );
  const reserveArb = (teams: fc.Arbitrary<number>, starts: fc.Arbitrary<number>) =>
    fc.record({ kind: fc.constant('reserve' as const), team: teams, request: requestArb, start: starts, months: fc.integer({ min: 1, max: 12 }), partial: fc.boolean(), lessor: fc.boolean() });
  const commandArb = fc.oneof(
    { weight: 4, arbitrary: reserveArb(team, fc.integer({ min: 0, max: 24 })) },
    // refill entrants: new teams arriving later, while earlier grants may still hold past their plan
    { weight: 2, arbitrary: reserveArb(fc.integer({ min: 6, max: 8 }), fc.integer({ min: 12, max: 36 })) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('extend' as const), team, months: fc.integer({ min: 1, max: 18 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('change' as const), team, gpus: fc.integer({ min: 1, max: 8 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('release' as const), team }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('burst' as const), requests: fc.array(reserveArb(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 30 })), { minLength: 2, maxLength: 4 }) }) },
  );
  type Command = typeof commandArb extends fc.Arbitrary<infer C> ? C : never;

  it('held ≤ capacity on every row at every instant, and the pool read equals the live allocations, after every step', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 4, maxLength: 18 }), async (commands: Command[]) => {
        run += 1;
        const generation = new Map<number, number>();
        const grantOf = (t: number) => `grant:prop:${run}:t${t}:${generation.get(t) ?? 0}`;
        let keys = 0;
        const reserve = async (c: Extract<Command, { kind: 'reserve' }>, concurrent: boolean) => {
          const from = month(c.start);
          const to = month(c.start + c.months);
          const before = concurrent ? null : await snapshot();
          const result: ProvisionGrantResult | Error = await gpu
            .provisionGrant({
              idempotencyKey: `${grantOf(c.team)}#provision-${++keys}`,
              grantId: grantOf(c.team),
              organisationId: c.lessor ? 'org-lessor' : `org-t${c.team}`,
              request: c.request,
              window: { from, to },
              ...(c.partial ? { acceptPartial: { atLeast: 1 } } : {}),
            })
            .catch((e: Error) => e);
          if (result instanceof Error) {
            if (!/already holds allocation/.test(result.message)) throw result;
            return;
          }
          if (result.status === 'refused' && result.refusal.reason === 'insufficient_capacity' && before && !c.partial && !(await refusalWasRight(before, c.request, from, to))) {
            throw new Error(`refused although a row had room: ${result.refusal.message}`);
          }
        };
        for (const [i, c] of commands.entries()) {
          if (c.kind === 'reserve') await reserve(c, false);
          if (c.kind === 'burst') await Promise.all(c.requests.map((r) => reserve(r, true)));
          if (c.kind === 'extend' || c.kind === 'change') {
            const [alloc] = (await database.db.query(`SELECT * FROM gpu_allocations WHERE grant_id = $1 AND status IN ('reserved', 'active')`, [grantOf(c.team)])) as AllocRow[];
            if (alloc) {
              await gpu.changeGrant({
                idempotencyKey: `${grantOf(c.team)}#change-${++keys}`,
                grantId: grantOf(c.team),
                ...(c.kind === 'extend' ? { extendTo: new Date(alloc.window_to.getTime() + c.months * 30 * 24 * 3600e3).toISOString() } : { limits: { gpus: c.gpus } }),
              });
            }
          }
          if (c.kind === 'release') {
            await gpu.releaseGrant({ idempotencyKey: `${grantOf(c.team)}#release`, grantId: grantOf(c.team), reason: 'eliminated' });
            generation.set(c.team, (generation.get(c.team) ?? 0) + 1);
          }
          await check(`run ${run} step ${i} (${c.kind})`);
        }
        // Leave the pool empty for the next sequence.
        for (const a of (await snapshot()).live) await gpu.releaseGrant({ idempotencyKey: `${a.grant_id}#cleanup`, grantId: a.grant_id, reason: 'ended' });
        await check(`run ${run} cleanup`);
      }),
      { numRuns: Number(process.env.GPU_PROPERTY_RUNS ?? 40), endOnFailure: true, verbose: 1 },
    );
    // Forty sequences of up to 18 ledger calls each against PostgreSQL: about 30 s alone, several
    // times that on a loaded 2-core machine. The bound is for a hang, not a speed target.
  }, 360_000);
});
