import { defaultPolicy, evolve, initialState, policyHash, type CycleEvent, type CycleState } from '@concentra/domain';
import { playToExtension } from '../../../domain/src/cycle/testing';

import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { EventStore } from './event-store';
import { eventHash } from './hash-chain';
import { EventStoreError, type NewEvent, type StoredEvent } from './types';
import { PROJECTIONS } from '../persistence.module';
import { ReadModels } from '../read-models';
import { cycleStateAsOf } from '../state-as-of';
import { diffSnapshots, snapshotProjectionTables } from '../projection-snapshot';

/** The event store on real PostgreSQL: idempotence, concurrency, append-only, chain, projections, asOf. */
describe('EventStore (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;
  const hash = policyHash(defaultPolicy);
  const actor = { role: 'program_manager', subject: 'pm-1' };

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
  });
  afterAll(async () => {
    await database?.drop();
  });

  /** `data.stage` goes into metadata, where the workflow records the stage after each event. */
  const event = (streamId: string, n: number, type = 'SomethingHappened', data: Record<string, unknown> = {}, occurredAt = '2027-01-01T00:00:00.000Z'): NewEvent => {
    const { stage, ...rest } = data;
    return {
      eventId: `${streamId}#${n}`,
      type,
      data: { n, ...rest },
      metadata: { actor, policyHash: hash, ...(typeof stage === 'string' ? { stage } : {}) },
      occurredAt,
    };
  };
  const count = async (streamId: string) => Number((await database.db.query('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId]))[0].n);

  async function expectStoreError(promise: Promise<unknown>, code: EventStoreError['code']): Promise<EventStoreError> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(EventStoreError);
    expect((error as EventStoreError).code).toBe(code);
    return error as EventStoreError;
  }

  describe('idempotent append', () => {
    it('stores an event once: the same id with the same content is a no-op', async () => {
      const first = await store.append('idem:a', [event('idem:a', 1), event('idem:a', 2)]);
      expect(first.appended).toBe(2);
      const again = await store.append('idem:a', [event('idem:a', 1), event('idem:a', 2)]);
      expect(again.appended).toBe(0);
      expect(again.streamPosition).toBe(2);
      expect(again.events.map((e) => e.hash)).toEqual(first.events.map((e) => e.hash));
      // A retry that carries the old events plus a new one stores only the new one.
      const more = await store.append('idem:a', [event('idem:a', 2), event('idem:a', 3)]);
      expect(more.appended).toBe(1);
      expect(await count('idem:a')).toBe(3);
    });

    it('refuses loudly the same id with different content, and keeps the original', async () => {
      await store.append('idem:b', [event('idem:b', 1, 'Chosen', { team: 'alpha' })]);
      const error = await expectStoreError(store.append('idem:b', [event('idem:b', 1, 'Chosen', { team: 'beta' })]), 'event_id_conflict');
      expect(error.message).toContain('idem:b#1');
      await expectStoreError(store.append('idem:b', [event('idem:b', 1, 'Rejected', { team: 'alpha' })]), 'event_id_conflict');
      await expectStoreError(store.append('idem:b', [{ ...event('idem:b', 1, 'Chosen', { team: 'alpha' }), occurredAt: '2027-01-02T00:00:00.000Z' }]), 'event_id_conflict');
      // The same id in another stream is a conflict too, never a second copy.
      await expectStoreError(store.append('idem:other', [event('idem:b', 1, 'Chosen', { team: 'alpha' })]), 'event_id_conflict');
      const [stored] = await store.readStream('idem:b');
      expect(stored.data).toEqual({ n: 1, team: 'alpha' });
      expect(await count('idem:b')).toBe(1);
      expect(await count('idem:other')).toBe(0);
    });

    it('refuses a batch naming one id twice with different content, and dedupes an exact repeat', async () => {
      await expectStoreError(store.append('idem:c', [event('idem:c', 1, 'X', { v: 1 }), event('idem:c', 1, 'X', { v: 2 })]), 'event_id_conflict');
      expect(await count('idem:c')).toBe(0);
      const result = await store.append('idem:c', [event('idem:c', 1), event('idem:c', 1)]);
      expect(result.appended).toBe(1);
    });

    it('stores what JSON says, so the hash recomputed from the stored row matches (Dates, undefined, -0)', async () => {
      const odd = { when: new Date('2027-03-01T10:00:00Z'), missing: undefined, zero: -0, nested: { list: [1, undefined, 'x'] } };
      await store.append('idem:json', [{ ...event('idem:json', 1), data: odd as unknown as Record<string, unknown> }]);
      const again = await store.append('idem:json', [{ ...event('idem:json', 1), data: odd as unknown as Record<string, unknown> }]);
      expect(again.appended).toBe(0);
      const [stored] = await store.readStream('idem:json');
      expect(stored.data).toEqual({ when: '2027-03-01T10:00:00.000Z', zero: 0, nested: { list: [1, null, 'x'] } });
      expect(eventHash(stored)).toBe(stored.hash);
    });
  });

  describe('concurrent writers', () => {
    it('of two parallel appends with the same expected position, exactly one wins', async () => {
      for (let round = 0; round < 5; round++) {
        const streamId = `race:${round}`;
        await store.append(streamId, [event(streamId, 1)]);
        const results = await Promise.allSettled([
          store.append(streamId, [event(streamId, 2, 'WriterA')], { expectedPosition: 1 }),
          store.append(streamId, [{ ...event(streamId, 2, 'WriterB'), eventId: `${streamId}#b2` }], { expectedPosition: 1 }),
        ]);
        const won = results.filter((r) => r.status === 'fulfilled');
        const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0].reason).toBeInstanceOf(EventStoreError);
        expect((lost[0].reason as EventStoreError).code).toBe('wrong_expected_position');
        expect(await count(streamId)).toBe(2);
      }
    });

    it('many writers without an expected position still make one gapless chain', async () => {
      const streamId = 'race:many';
      await Promise.all(Array.from({ length: 12 }, (_, i) => store.append(streamId, [event(streamId, i + 1)])));
      const events = await store.readStream(streamId);
      expect(events.map((e) => e.streamPosition)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expectChain(events);
    });

    it('two processes (two stores, each with its own idea of the head) keep one chain: a stale head is found out and nothing forks', async () => {
      const streamId = 'race:processes';
      const other = new EventStore(database.db, PROJECTIONS);
      await store.append(streamId, [event(streamId, 1)]); // `store` now believes the head is 1
      await other.append(streamId, [event(streamId, 2), event(streamId, 3)]);
      const third = await store.append(streamId, [event(streamId, 4)]);
      expect(third.events[0].streamPosition).toBe(4);
      // A stale head with an expected position: judged on the stream as stored, not on the guess.
      await other.append(streamId, [event(streamId, 5)]);
      await expectStoreError(store.append(streamId, [event(streamId, 6)], { expectedPosition: 4 }), 'wrong_expected_position');
      expect((await store.append(streamId, [event(streamId, 6)], { expectedPosition: 5 })).streamPosition).toBe(6);
      // The same retry through either store is a no-op.
      expect((await other.append(streamId, [event(streamId, 6)])).appended).toBe(0);
      // Both stores writing at once, many times over.
      await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? store : other).append(streamId, [event(streamId, 7 + i)])));
      const events = await store.readStream(streamId);
      expect(events).toHaveLength(16);
      expectChain(events);
      // Recording times never go backwards along a stream.
      for (let i = 1; i < events.length; i++) expect(Date.parse(events[i].recordedAt)).toBeGreaterThanOrEqual(Date.parse(events[i - 1].recordedAt));
    });

    it('two writers racing one event id into two streams: one stores it, the other is told', async () => {
      const shared = { ...event('x', 1), eventId: 'shared#1' };
      const results = await Promise.allSettled([store.append('race:left', [shared]), store.append('race:right', [shared])]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')!;
      expect((lost.reason as EventStoreError).code).toBe('event_id_conflict');
      expect(Number((await database.db.query(`SELECT count(*) AS n FROM events WHERE event_id = 'shared#1'`))[0].n)).toBe(1);
    });
  });

  describe('append-only, enforced by the database', () => {
    beforeAll(async () => {
      await store.append('locked:a', [event('locked:a', 1)]);
    });

    it.each([
      ['UPDATE', `UPDATE events SET data = '{"n": 99}' WHERE stream_id = 'locked:a'`],
      ['DELETE', `DELETE FROM events WHERE stream_id = 'locked:a'`],
      ['TRUNCATE', `TRUNCATE events`],
    ])('refuses %s', async (op, sql) => {
      await expect(database.db.query(sql)).rejects.toThrow(new RegExp(`append-only: ${op} refused`));
      const [stored] = await store.readStream('locked:a');
      expect(stored.data).toEqual({ n: 1 });
    });
  });

  describe('hash chain', () => {
    it('links every event to the one before it, and each hash covers the event', async () => {
      await store.append('chain:a', [event('chain:a', 1), event('chain:a', 2)]);
      await store.append('chain:a', [event('chain:a', 3)]);
      await store.append('chain:b', [event('chain:b', 1)]);
      const a = await store.readStream('chain:a');
      expectChain(a);
      expect((await store.readStream('chain:b'))[0].prevHash).toBeNull();
      // Any change to a hashed field gives another hash.
      expect(eventHash({ ...a[1], data: { n: 3 } })).not.toBe(a[1].hash);
      expect(eventHash({ ...a[1], prevHash: a[0].prevHash })).not.toBe(a[1].hash);
    });
  });

  describe('projections', () => {
    const cycleId = 'cycle:rebuild-test:2027';
    beforeAll(async () => {
      await store.append('program:rebuild-test', [
        {
          eventId: 'program:rebuild-test#1',
          type: 'ProgramCreated',
          data: { slug: 'rebuild-test', name: 'Rebuild test', policy: defaultPolicy as unknown as Record<string, unknown>, policyHash: hash },
          metadata: { actor, policyHash: hash },
          occurredAt: '2026-12-01T00:00:00.000Z',
        },
      ]);
      await store.append(cycleId, [
        event(cycleId, 1, 'CallOpened', { program: 'rebuild-test', year: 2027, policyHash: hash, closesAt: '2027-01-31T00:00:00.000Z', stage: 'call' }, '2027-01-01T00:00:00.000Z'),
      ]);
      await store.append(cycleId, [event(cycleId, 2, 'CallClosed', { stage: 'review' }, '2027-01-31T00:00:00.000Z')]);
      await store.append(cycleId, [event(cycleId, 3, 'ReviewRoundClosed', { stage: 'selection' }, '2027-03-02T00:00:00.000Z')]);
    });

    it('a rebuild from zero yields the live tables row by row', async () => {
      const live = await snapshotProjectionTables(database.db);
      expect(live.cycles).toHaveLength(1);
      expect(live.programs).toHaveLength(1);
      expect(live.policy_versions).toHaveLength(1);
      const checkpointsBefore = await database.db.query('SELECT projection, position FROM projection_checkpoints ORDER BY projection');

      const replayed = await store.rebuildProjections();
      expect(replayed).toBeGreaterThan(4);
      const rebuilt = await snapshotProjectionTables(database.db);
      expect(diffSnapshots(live, rebuilt)).toEqual([]);
      expect(rebuilt).toEqual(live);
      expect(await database.db.query('SELECT projection, position FROM projection_checkpoints ORDER BY projection')).toEqual(checkpointsBefore);
      expect(await new ReadModels(database.db).cycle(cycleId)).toMatchObject({ stage: 'selection', lastPosition: 3 });
    });

    it('a rebuild after a whole played year (every projection, the engine\'s too) yields the live tables', async () => {
      const year = playedYear();
      const id = 'cycle:select-and-concentrate:2027';
      await store.append('program:select-and-concentrate', [
        {
          eventId: 'program:select-and-concentrate#1',
          type: 'ProgramCreated',
          data: { slug: 'select-and-concentrate', name: 'Select and concentrate', policy: defaultPolicy as unknown as Record<string, unknown>, policyHash: hash },
          metadata: { actor, policyHash: hash },
          occurredAt: '2026-12-01T00:00:00.000Z',
        },
      ]);
      let state: CycleState = initialState;
      let n = 0;
      for (const e of year) {
        state = evolve(state, e);
        n += 1;
        await store.append(id, [{ eventId: `${id}#${n}`, type: e.type, data: e.data as unknown as Record<string, unknown>, metadata: { actor, policyHash: hash, stage: state.stage }, occurredAt: eventTime(e) }]);
      }
      const live = await snapshotProjectionTables(database.db);
      expect(live.cycles.some((row) => row.includes(id))).toBe(true);
      // The engine's read tables are compared too, when its projections are registered.
      for (const table of ['cycle_applications', 'cycle_rankings', 'cycle_decisions']) if (live[table]) expect(live[table].length).toBeGreaterThan(0);
      await store.rebuildProjections();
      expect(diffSnapshots(live, await snapshotProjectionTables(database.db))).toEqual([]);
    });

    it('a rebuild tells nobody anything: notices are written when an event is recorded, never by a replay', async () => {
      const outbox = async () => ((await database.db.query('SELECT key FROM notification_outbox ORDER BY key')) as { key: string }[]).map((r) => r.key);
      const told = await outbox();
      expect(told.length).toBeGreaterThan(0); // the played year above decided things people are told of
      // A notice rule added after an event was recorded must not reach back to it: stand for that
      // by removing one row; the rebuild does not write it (and would have, were the outbox replayed).
      await database.db.query('DELETE FROM notification_outbox WHERE key = $1', [told[0]]);
      await store.rebuildProjections();
      expect(await outbox()).toEqual(told.slice(1));
    });

    it('a difference between snapshots is named by table and row', async () => {
      const live = await snapshotProjectionTables(database.db);
      await database.db.query(`UPDATE cycles SET stage = 'tampered' WHERE id = $1`, [cycleId]);
      const diff = diffSnapshots(live, await snapshotProjectionTables(database.db));
      expect(diff).toHaveLength(1);
      expect(diff[0].table).toBe('cycles');
      expect(diff[0].onlyAfter[0]).toContain('tampered');
      await store.rebuildProjections();
      expect(await snapshotProjectionTables(database.db)).toEqual(live);
    });

    it('an event the projections take and one they do not both move every checkpoint, in the append', async () => {
      const checkpoints = async () => (await database.db.query('SELECT projection, position FROM projection_checkpoints ORDER BY projection')) as Array<{ projection: string; position: string }>;
      const plain = await store.append('checkpoint:plain', [event('checkpoint:plain', 1)]);
      expect((await checkpoints()).map((c) => Number(c.position))).toEqual(PROJECTIONS.map(() => plain.events[0].globalPosition));
      const cycle = 'cycle:checkpoint:2027';
      const opened = await store.append(cycle, [event(cycle, 1, 'CallOpened', { program: 'checkpoint', year: 2027, policyHash: hash, stage: 'call' })]);
      expect((await checkpoints()).map((c) => Number(c.position))).toEqual(PROJECTIONS.map(() => opened.events[0].globalPosition));
      expect(await new ReadModels(database.db).cycle(cycle)).toMatchObject({ stage: 'call', lastPosition: 1 });
    });
  });

  describe('state as of a date', () => {
    const cycleId = 'cycle:asof:2027';
    beforeAll(async () => {
      await store.append(cycleId, [
        event(cycleId, 1, 'CallOpened', { program: 'asof', year: 2027, policyHash: hash, stage: 'call' }, '2027-01-01T00:00:00.000Z'),
      ]);
      await store.append(cycleId, [event(cycleId, 2, 'CallClosed', { stage: 'review' }, '2027-01-31T00:00:00.000Z')]);
      await store.append(cycleId, [event(cycleId, 3, 'ReviewRoundClosed', { stage: 'selection' }, '2027-03-02T00:00:00.000Z')]);
    });

    it('folds the events up to the moment and no further', async () => {
      expect(await cycleStateAsOf(store, cycleId, '2026-12-31T23:59:59Z')).toMatchObject({ exists: false, stage: null, position: 0 });
      expect(await cycleStateAsOf(store, cycleId, '2027-01-01T00:00:00Z')).toMatchObject({ exists: true, stage: 'call', position: 1, policyHash: hash });
      const february = await cycleStateAsOf(store, cycleId, '2027-02-15T12:00:00Z');
      expect(february).toMatchObject({ stage: 'review', position: 2, lastEventAt: '2027-01-31T00:00:00.000Z' });
      expect(february.timeline.map((t) => t.type)).toEqual(['CallOpened', 'CallClosed']);
      expect(february.timeline[0].actor).toBe('program_manager:pm-1');
      expect(await cycleStateAsOf(store, cycleId, new Date('2030-01-01T00:00:00Z'))).toMatchObject({ stage: 'selection', position: 3 });
    });

    it('refuses a moment that is not a timestamp', async () => {
      await expect(cycleStateAsOf(store, cycleId, 'yesterday-ish')).rejects.toThrow(RangeError);
    });
  });
});

function expectChain(events: StoredEvent[]): void {
  events.forEach((e, i) => {
    expect(e.streamPosition).toBe(i + 1);
    expect(e.prevHash).toBe(i === 0 ? null : events[i - 1].hash);
    expect(eventHash(e)).toBe(e.hash);
  });
}

/** The default policy's year as libs/domain plays it (its own test driver), up to the finalists' extension. */
const playedYear = (): CycleEvent[] => playToExtension({ applicants: 6 }).events;

/** The decision time an event carries (the workflow's clock), for occurredAt. */
function eventTime(e: CycleEvent): string {
  const d = e.data as unknown as Record<string, unknown>;
  const t = ['openedAt', 'submittedAt', 'closedAt', 'decidedAt', 'startedAt', 'at', 'filedAt', 'endedAt', 'raisedAt'].map((k) => d[k]).find((v) => typeof v === 'string');
  return (t as string | undefined) ?? '2027-01-04T09:00:00.000Z';
}
