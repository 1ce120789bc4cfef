import { defaultPolicy, policyHash } from '@concentra/domain';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { EventStore } from './event-store/event-store';
import { PROJECTIONS } from './persistence.module';
import { ReadModels } from './read-models';

/** A program read on real PostgreSQL: its row, and its policy document kept by hash. */
describe('ReadModels.program (PostgreSQL)', () => {
  let database: TestDatabase;
  let store: EventStore;
  const actor = { role: 'program_manager', subject: 'pm-1' };

  beforeAll(async () => {
    database = await createTestDatabase();
    store = new EventStore(database.db, PROJECTIONS);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const programEvent = (slug: string, n: number, type: string, policy: Record<string, unknown>) => ({
    eventId: `program:${slug}#${n}`,
    type,
    data: { slug, name: `Program ${slug}`, policy, policyHash: policyHash(policy as never) },
    metadata: { actor, policyHash: policyHash(policy as never) },
    occurredAt: '2026-12-01T00:00:00.000Z',
  });

  it('answers the policy the program has now, after a new version is adopted, and a frozen document', async () => {
    const reads = new ReadModels(database.db);
    const first = { ...defaultPolicy, program: 'reads' } as unknown as Record<string, unknown>;
    await store.append('program:reads', [programEvent('reads', 1, 'ProgramCreated', first)]);
    const before = await reads.program('reads');
    expect(before).toMatchObject({ slug: 'reads', name: 'Program reads', policyHash: policyHash(first as never), createdBy: 'pm-1' });
    expect(before!.policy).toEqual(first);
    expect(Object.isFrozen(before!.policy)).toBe(true);
    expect(await reads.program('reads')).toEqual(before); // the second read: the document kept by hash

    const second = { ...first, name: 'Second version' };
    await store.append('program:reads', [programEvent('reads', 2, 'PolicyVersionAdopted', second)]);
    const after = await reads.program('reads');
    expect(after!.policyHash).toBe(policyHash(second as never));
    expect(after!.policy).toEqual(second);
    // Another reader (another process) agrees.
    expect(await new ReadModels(database.db).program('reads')).toEqual(after);
  });

  it('answers nothing for a program that is not there', async () => {
    expect(await new ReadModels(database.db).program('nowhere')).toBeUndefined();
  });
});
