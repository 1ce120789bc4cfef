import { defaultPolicy, evolve, initialState, policyHash, type CycleEvent, type CycleState } from '@concentra/domain';
import { playToExtension } from '../../../domain/src/cycle/testing';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { EventStore } from '../event-store/event-store';
import type { NewEvent, StoredEvent } from '../event-store/types';
import { PROJECTIONS } from '../persistence.module';
import { diffSnapshots, snapshotProjectionTables, type ProjectionSnapshot } from '../projection-snapshot';
import { cycleDetailsProjection } from './cycle-details.projection';
import type { EntityManager } from 'typeorm';

/**
 * A projection that takes an append's events at once (applyAll) leaves the rows it would leave
 * taking them one by one: the cycle's read tables on real PostgreSQL, for a played year appended
 * in batches of uneven sizes, compared with the same events applied one event at a time.
 */
describe('applyAll: a multi-event append gives the rows of its events one by one (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;
  const cycleId = 'cycle:batched:2027';
  const hash = policyHash(defaultPolicy);
  const actor = { role: 'program_manager', subject: 'pm-1' };
  let stored: StoredEvent[] = [];
  let live: ProjectionSnapshot;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
    const year = playToExtension({ applicants: 6 }).events;
    // The whole year (nothing is owed at its end) and a cycle stopped amid its reviews (reviews owed).
    const midReview = year.findIndex((e) => e.type === 'ReviewSubmitted') + 5;
    expect(midReview).toBeGreaterThan(5);
    await appendInBatches(cycleId, year);
    await appendInBatches('cycle:batched-half:2027', year.slice(0, midReview), 'batched-half'); // another program: one cycle per program and year
    stored = stored.sort((a, b) => a.globalPosition - b.globalPosition);
    live = await snapshotProjectionTables(database.db);
  });
  async function appendInBatches(streamId: string, year: CycleEvent[], program?: string): Promise<void> {
    const events: NewEvent[] = [];
    let state: CycleState = initialState;
    for (const e of year) {
      state = evolve(state, e);
      const data = { ...(e.data as unknown as Record<string, unknown>), ...(program && e.type === 'CallOpened' ? { program } : {}) };
      events.push({ eventId: `${streamId}#${events.length + 1}`, type: e.type, data, metadata: { actor, policyHash: hash, stage: state.stage }, occurredAt: eventTime(e) });
    }
    // Uneven batches, so status changes, grants, rankings and owed items fall inside batches.
    const sizes = [1, 4, 3, 7, 2, 5];
    for (let at = 0, i = 0; at < events.length; i++) {
      const batch = events.slice(at, at + sizes[i % sizes.length]);
      at += batch.length;
      stored.push(...(await store.append(streamId, batch)).events);
    }
  }

  afterAll(async () => {
    await database?.drop();
  });

  /** Runs `body` on emptied cycle tables in a transaction that is rolled back; answers the tables it left. */
  async function replayed(body: (tx: EntityManager) => Promise<void>): Promise<ProjectionSnapshot> {
    const runner = database.db.createQueryRunner();
    await runner.connect();
    try {
      await runner.startTransaction();
      await cycleDetailsProjection.reset(runner.manager);
      await body(runner.manager);
      return await snapshotProjectionTables(runner.manager);
    } finally {
      if (runner.isTransactionActive) await runner.rollbackTransaction();
      await runner.release();
    }
  }

  it('the batched appends filled every cycle table', () => {
    expect(stored.length).toBeGreaterThan(60);
    for (const table of ['cycle_states', 'cycle_applications', 'cycle_grants', 'cycle_rankings', 'cycle_decisions', 'cycle_owed']) {
      expect([table, live[table]?.length ?? 0]).not.toEqual([table, 0]);
    }
  });

  it('applying the same events one by one leaves the same rows', async () => {
    const oneByOne = await replayed(async (tx) => {
      for (const event of stored) await cycleDetailsProjection.apply(tx, event);
    });
    expect(diffSnapshots(live, oneByOne)).toEqual([]);
  });

  it('applying each cycle\'s events at once leaves the same rows', async () => {
    const atOnce = await replayed(async (tx) => {
      for (const streamId of [cycleId, 'cycle:batched-half:2027']) await cycleDetailsProjection.applyAll!(tx, stored.filter((e) => e.streamId === streamId));
    });
    expect(diffSnapshots(live, atOnce)).toEqual([]);
  });

  it('a batch partly applied already skips what was applied, and applying it again changes nothing', async () => {
    const overlapping = await replayed(async (tx) => {
      const year = stored.filter((e) => e.streamId === cycleId);
      for (const event of year.slice(0, 20)) await cycleDetailsProjection.apply(tx, event);
      await cycleDetailsProjection.applyAll!(tx, year.slice(10, 30));
      await cycleDetailsProjection.applyAll!(tx, year);
      await cycleDetailsProjection.applyAll!(tx, year);
      // Events of two cycles interleaved: each cycle's run on its own.
      await cycleDetailsProjection.applyAll!(tx, stored);
    });
    expect(diffSnapshots(live, overlapping)).toEqual([]);
  });

  it('a rebuild from zero gives the same rows', async () => {
    await store.rebuildProjections();
    expect(diffSnapshots(live, await snapshotProjectionTables(database.db))).toEqual([]);
  });
});

/** The decision time an event carries (the workflow's clock), for occurredAt. */
function eventTime(e: CycleEvent): string {
  const d = e.data as unknown as Record<string, unknown>;
  const t = ['openedAt', 'submittedAt', 'closedAt', 'decidedAt', 'startedAt', 'at', 'filedAt', 'endedAt', 'raisedAt'].map((k) => d[k]).find((v) => typeof v === 'string');
  return (t as string | undefined) ?? '2027-01-04T09:00:00.000Z';
}
