import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Client } from 'pg';
import { createDataSource } from '../data-source';
import { EventActivities, classifiedFailure } from '../event.activities';
import { PROJECTIONS } from '../persistence.module';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database';
import { classifyDatabaseError } from './database-errors';
import { EventStore } from './event-store';
import { EventStoreError, UnstorableRecordError, type NewEvent } from './types';

/**
 * Failures of the event store against real PostgreSQL, classified: a record PostgreSQL can never
 * store fails for good (UnstorableRecord, naming stream, event and PostgreSQL's message), a content
 * conflict keeps its non-retryable EventStoreError type, and infrastructure errors stay retryable.
 */
describe('event store failures, classified (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const event = (streamId: string, n: number, data: Record<string, unknown> = {}, type = 'SomethingHappened'): NewEvent => ({
    eventId: `${streamId}#${n}`,
    type,
    data: { n, ...data },
    metadata: { actor: { role: 'program_manager', subject: 'pm-1' } },
    occurredAt: '2027-01-01T00:00:00.000Z',
  });
  const count = async (streamId: string) => Number((await database.db.query('SELECT count(*) AS n FROM events WHERE stream_id = $1', [streamId]))[0].n);
  const failureOf = async (promise: Promise<unknown>) => promise.then(() => undefined, (e: unknown) => e);

  it.each([
    ['a NUL in jsonb data', { title: 'bad\u0000title' }, 'SomethingHappened', '22P05', /unsupported Unicode escape sequence/],
    ['a lone surrogate in jsonb data', { title: 'bad\ud800title' }, 'SomethingHappened', '22P02', /invalid input syntax for type json/],
    ['a NUL in a text column', {}, 'Bad\u0000Type', '22021', /invalid byte sequence/],
  ])('refuses %s for good, naming the stream, the event and the PostgreSQL message; nothing of the batch is stored', async (_what, data, type, sqlState, message) => {
    const streamId = `unstorable:${sqlState}`;
    const error = await failureOf(store.append(streamId, [event(streamId, 1), event(streamId, 2, data, type), event(streamId, 3)]));
    expect(error).toBeInstanceOf(UnstorableRecordError);
    const unstorable = error as UnstorableRecordError;
    expect(unstorable).toMatchObject({ code: 'unstorable_record', streamId, eventId: `${streamId}#2`, sqlState });
    expect(unstorable.databaseMessage).toMatch(message);
    expect(await count(streamId)).toBe(0);

    const failure = classifiedFailure(streamId, error) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({ type: 'UnstorableRecord', nonRetryable: true });
    expect(failure.message).toContain(streamId);
    expect(failure.message).toContain(`${streamId}#2`);
    expect(failure.message).toMatch(message);
    expect(failure.details).toEqual([{ streamId, eventId: `${streamId}#2`, sqlState, databaseMessage: unstorable.databaseMessage }]);

    // The stream is not wedged: the good events go in once the bad one is gone.
    expect((await store.append(streamId, [event(streamId, 1), event(streamId, 2)])).appended).toBe(2);
  });

  it('the recordEvents activity fails UnstorableRecord (non-retryable) on such a record', async () => {
    const activities = new EventActivities(store);
    const streamId = 'cycle:activity-unstorable:2027';
    const error = await failureOf(new MockActivityEnvironment().run(() => activities.recordEvents({ streamId, events: [event(streamId, 1, { title: '\u0000' })] })));
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({ type: 'UnstorableRecord', nonRetryable: true });
    expect((error as Error).message).toMatch(new RegExp(`${streamId}.*${streamId}#1.*unsupported Unicode escape sequence`));
    expect(await count(streamId)).toBe(0);
  });

  it('a content conflict keeps its non-retryable EventStoreError type', async () => {
    const streamId = 'conflict:a';
    await store.append(streamId, [event(streamId, 1, { v: 1 })]);
    const error = await failureOf(store.append(streamId, [event(streamId, 1, { v: 2 })]));
    expect(error).toBeInstanceOf(EventStoreError);
    expect(classifyDatabaseError(error).kind).toBe('other');
    expect(classifiedFailure(streamId, error)).toMatchObject({ type: 'EventStoreError', nonRetryable: true, details: [{ code: 'event_id_conflict' }] });
  });

  it('classifies other data exceptions (22001 value too long, 54000 program limit) as unstorable', async () => {
    const runner = database.db.createQueryRunner();
    try {
      await runner.query('CREATE TEMP TABLE short_text (v varchar(2))');
      const tooLong = await failureOf(runner.query("INSERT INTO short_text VALUES ('abc')"));
      expect(classifyDatabaseError(tooLong)).toMatchObject({ kind: 'unstorable', code: '22001' });
      const limit = await failureOf(runner.query("SELECT repeat('x', 1073741824) AS v"));
      expect(classifyDatabaseError(limit)).toMatchObject({ kind: 'unstorable', code: '54000' });
      expect(classifiedFailure('s', limit)).toMatchObject({ type: 'UnstorableRecord', nonRetryable: true });
    } finally {
      await runner.release();
    }
  });

  it('keeps infrastructure errors retryable: admin shutdown (57P01), a deadlock (40P01), connection refused', async () => {
    // 57P01: the session is terminated by an administrator while it works.
    const victim = new Client({ connectionString: database.url });
    victim.on('error', () => undefined); // the terminated session reports once more; expected
    await victim.connect();
    const [{ pid }] = (await victim.query('SELECT pg_backend_pid() AS pid')).rows as { pid: number }[];
    const sleeping = failureOf(victim.query('SELECT pg_sleep(30)'));
    await waitUntil(async () => ((await database.db.query("SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'", [pid])) as { n: string }[])[0].n === '1');
    await database.db.query('SELECT pg_terminate_backend($1)', [pid]);
    const shutdown = await sleeping;
    expect(classifyDatabaseError(shutdown)).toMatchObject({ kind: 'unavailable', code: '57P01' });
    expect(classifiedFailure('s', shutdown)).toBe(shutdown); // thrown as it is: the retry policy retries it
    await victim.end().catch(() => undefined);

    // 40P01: two transactions lock two rows in opposite orders.
    await database.db.query('CREATE TABLE deadlock_probe (id int PRIMARY KEY); INSERT INTO deadlock_probe VALUES (1), (2)');
    const [a, b] = [new Client({ connectionString: database.url }), new Client({ connectionString: database.url })];
    await Promise.all([a.connect(), b.connect()]);
    try {
      await a.query('BEGIN; SELECT * FROM deadlock_probe WHERE id = 1 FOR UPDATE');
      await b.query('BEGIN; SELECT * FROM deadlock_probe WHERE id = 2 FOR UPDATE');
      const results = await Promise.all([failureOf(a.query('SELECT * FROM deadlock_probe WHERE id = 2 FOR UPDATE')), failureOf(b.query('SELECT * FROM deadlock_probe WHERE id = 1 FOR UPDATE'))]);
      const deadlock = results.find((r) => r !== undefined);
      expect(classifyDatabaseError(deadlock)).toMatchObject({ kind: 'unavailable', code: '40P01' });
    } finally {
      await Promise.all([a.query('ROLLBACK').catch(() => undefined), b.query('ROLLBACK').catch(() => undefined)]);
      await Promise.all([a.end(), b.end()]);
    }

    // Connection refused: a port nobody listens on.
    const closed = new URL(database.url);
    closed.port = String(await closedPort());
    const refused = await failureOf(createDataSource(closed.toString()).initialize());
    expect(classifyDatabaseError(refused)).toMatchObject({ kind: 'unavailable', code: 'ECONNREFUSED' });
    expect(classifiedFailure('s', refused)).toBe(refused);
  });
});

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A loopback port that was free a moment ago: listened on, then closed. */
async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
