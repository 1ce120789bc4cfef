import fc from 'fast-check';
import { chooseCapacity, covers, growthRefusal, type Alternative, type CapacityView, type GpuPoolPolicy, type ReservationAsk, type RowHolding } from './policy';

/**
 * Properties of the pure capacity choice (`chooseCapacity`, `growthRefusal`): whatever the pool's
 * rows, what they hold, the request and the lessor rule, a row that serves has room for what it
 * serves over the whole window, the earliest alternative any row can serve whole wins, the tightest
 * fit wins among rows at the same site preference, and a lessor excluded by the rule is never served.
 */
const DAY = 24 * 3600 * 1000;
const T0 = Date.UTC(2040, 0, 1);
const at = (day: number) => new Date(T0 + day * DAY);
const TYPES = ['H100', 'H200', 'B200'];
const SITES = ['north', 'south'];
const ORGS = ['org-a', 'org-b'];

const policyArb = fc.record({
  lessorConflict: fc.constantFrom('lessors_receive_none' as const, 'exclude_while_in_use' as const, 'allow' as const),
});

const rowArb = (i: number): fc.Arbitrary<RowHolding> =>
  fc
    .record({
      type: fc.constantFrom(...TYPES),
      site: fc.constantFrom(...SITES),
      count: fc.integer({ min: 1, max: 16 }),
      heldFraction: fc.double({ min: 0, max: 1, noNaN: true }),
      lessor: fc.option(fc.constantFrom(...ORGS), { nil: null }),
      fromDay: fc.integer({ min: 0, max: 60 }),
      days: fc.option(fc.integer({ min: 1, max: 400 }), { nil: null }),
    })
    .map(({ type, site, count, heldFraction, lessor, fromDay, days }) => {
      const row: CapacityView = {
        id: `cap-${String(i).padStart(2, '0')}`,
        site,
        cluster: site,
        provider: 'ledger',
        gpuType: type,
        count,
        ownership: lessor ? 'leased' : 'owned',
        lessorOrganisationId: lessor,
        availableFrom: at(fromDay).toISOString(),
        availableUntil: days === null ? null : at(fromDay + days).toISOString(),
        registeredAt: at(0).toISOString(),
        registeredBy: 'pm',
      };
      return { row, held: Math.floor(heldFraction * count) };
    });

const rowsArb = fc.integer({ min: 0, max: 8 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rowArb(i))));

const alternativesArb: fc.Arbitrary<Alternative[]> = fc
  .array(fc.record({ type: fc.constantFrom(...TYPES), count: fc.integer({ min: 1, max: 12 }) }), { minLength: 1, maxLength: 3 })
  .map((list) => list.map((a) => ({ ...a, rate: list[0].count / a.count })));

const askArb: fc.Arbitrary<ReservationAsk> = fc
  .record({
    policy: policyArb,
    organisationId: fc.constantFrom(...ORGS, 'org-c'),
    alternatives: alternativesArb,
    rows: rowsArb,
    fromDay: fc.integer({ min: 0, max: 90 }),
    days: fc.integer({ min: 1, max: 300 }),
    preferSite: fc.option(fc.constantFrom(...SITES), { nil: undefined }),
    atLeast: fc.option(fc.integer({ min: 1, max: 12 }), { nil: undefined }),
  })
  .map((a) => ({
    policy: { rates: { H100: 1, H200: 1.5, B200: 2 }, reallocation: 'to_pool', thresholds: [], throttle: { gpuFraction: 0.5 }, ...a.policy } satisfies GpuPoolPolicy,
    policyVersion: 3,
    organisationId: a.organisationId,
    alternatives: a.alternatives,
    rows: a.rows,
    from: at(a.fromDay),
    to: at(a.fromDay + a.days),
    preferSite: a.preferSite,
    acceptPartial: a.atLeast === undefined ? undefined : { atLeast: a.atLeast },
  }));

const free = (r: RowHolding) => r.row.count - r.held;
const leasesRunning = (ask: ReservationAsk) => {
  const leases = ask.rows.filter((r) => r.row.lessorOrganisationId === ask.organisationId).map((r) => r.row);
  const notEndedBy = (c: CapacityView, t: Date) => c.availableUntil === null || new Date(c.availableUntil) > t;
  if (ask.policy.lessorConflict === 'lessors_receive_none') return leases.some((c) => notEndedBy(c, ask.from));
  if (ask.policy.lessorConflict === 'exclude_while_in_use') return leases.some((c) => new Date(c.availableFrom) < ask.to && notEndedBy(c, ask.from));
  return false;
};

describe('GPU pool policy: the capacity choice (properties)', () => {
  it('serves only on a row of the alternative type that exists for the whole window and has the GPUs free', () => {
    fc.assert(
      fc.property(askArb, (ask) => {
        const choice = chooseCapacity(ask);
        if (!('serve' in choice)) return;
        const chosen = ask.rows.find((r) => r.row.id === choice.serve.id)!;
        expect(chosen.row.gpuType).toBe(choice.alternative.type);
        expect(covers(chosen.row, ask.from, ask.to)).toBe(true);
        expect(choice.count).toBeGreaterThan(0);
        expect(choice.count).toBeLessThanOrEqual(free(chosen));
        expect(choice.count).toBeLessThanOrEqual(choice.alternative.count);
        if (choice.count < choice.alternative.count) {
          // A partial grant only when the caller accepts one, and at least its floor (in units of the first alternative).
          expect(ask.acceptPartial).toBeDefined();
          expect(choice.count * choice.alternative.rate).toBeGreaterThanOrEqual(ask.acceptPartial!.atLeast - 1e-9);
        }
      }),
    );
  });

  it('never serves an organisation the lessor rule excludes, and refuses it as a lessor conflict', () => {
    fc.assert(
      fc.property(askArb, (ask) => {
        const choice = chooseCapacity(ask);
        if (leasesRunning(ask)) expect(choice).toMatchObject({ refuse: { reason: 'lessor_conflict', retryable: false } });
        else if ('refuse' in choice) expect(choice.refuse.reason).not.toBe('lessor_conflict');
      }),
    );
  });

  it('serves the earliest alternative any row can serve whole, on the tightest fit among rows equally preferred', () => {
    fc.assert(
      fc.property(askArb, (ask) => {
        fc.pre(!leasesRunning(ask));
        const whole = (alt: Alternative) => ask.rows.filter((r) => r.row.gpuType === alt.type && covers(r.row, ask.from, ask.to) && free(r) >= alt.count);
        const first = ask.alternatives.find((alt) => whole(alt).length > 0);
        const choice = chooseCapacity(ask);
        if (!first) {
          if ('serve' in choice) expect(choice.count).toBeLessThan(choice.alternative.count);
          return;
        }
        expect(choice).toHaveProperty('serve');
        if (!('serve' in choice)) return;
        expect(choice.alternative).toEqual(first);
        expect(choice.count).toBe(first.count);
        const fits = whole(first);
        const preferred = fits.filter((r) => r.row.site === ask.preferSite);
        const pool = preferred.length > 0 ? preferred : fits;
        const chosen = fits.find((r) => r.row.id === choice.serve.id)!;
        expect(pool).toContain(chosen);
        expect(free(chosen)).toBe(Math.min(...pool.map(free)));
      }),
    );
  });

  it('refuses with every row it looked at, retryable only for want of capacity', () => {
    fc.assert(
      fc.property(askArb, (ask) => {
        const choice = chooseCapacity(ask);
        if (!('refuse' in choice)) return;
        const { reason, retryable, capacity } = choice.refuse;
        const types = new Set(ask.alternatives.map((a) => a.type));
        if (reason === 'unknown_gpu_type') expect(ask.rows.some((r) => types.has(r.row.gpuType))).toBe(false);
        if (reason === 'insufficient_capacity') {
          expect(retryable).toBe(true);
          for (const c of capacity ?? []) expect(types.has(c.gpuType)).toBe(true);
        } else expect(retryable).toBe(false);
      }),
    );
  });

  it('lets an allocation grow on its row only within what the others leave free over the whole window', () => {
    fc.assert(
      fc.property(askArb, fc.integer({ min: 0, max: 16 }), fc.integer({ min: 1, max: 16 }), fc.boolean(), (ask, othersHeld, count, extendsWindow) => {
        fc.pre(ask.rows.length > 0);
        const [{ row }] = ask.rows;
        const leases = ask.rows.filter((r) => r.row.lessorOrganisationId === ask.organisationId);
        const refusal = growthRefusal({ ...ask, leases, row, othersHeld, holds: 1, count, extendsWindow });
        if (refusal === null) {
          expect(othersHeld + count).toBeLessThanOrEqual(row.count);
          expect(covers(row, ask.from, ask.to)).toBe(true);
          if (extendsWindow) expect(leasesRunning(ask)).toBe(false);
        } else {
          expect(refusal.reason === 'lessor_conflict' ? extendsWindow && leasesRunning(ask) : othersHeld + count > row.count || !covers(row, ask.from, ask.to)).toBe(true);
        }
      }),
    );
  });
});
