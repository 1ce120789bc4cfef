import type { ArgumentsHost } from '@nestjs/common';
import { EventStoreError } from '@concentra/persistence';
import { ProblemFilter } from './problem.filter';

/** What the filter answers for one failure: status and problem body. */
function answer(exception: unknown): { status: number; body: { statusCode: number; error: string } } {
  const sent: { status: number; body: string } = { status: 0, body: '' };
  const response = {
    setHeader: () => response,
    status: (s: number) => ((sent.status = s), response),
    type: () => response,
    send: (b: string) => ((sent.body = b), response),
  };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  new ProblemFilter().catch(exception, host);
  return { status: sent.status, body: JSON.parse(sent.body) };
}

describe('ProblemFilter: races are 409, never 500', () => {
  it('answers a PostgreSQL unique violation (23505) anywhere in the chain with 409', () => {
    const queryFailed = Object.assign(new Error('duplicate key value violates unique constraint "gpu_pool_policies_pkey"'), {
      driverError: Object.assign(new Error('duplicate key'), { code: '23505' }),
    });
    expect(answer(queryFailed)).toMatchObject({ status: 409, body: { statusCode: 409, error: 'conflict' } });
    expect(answer(new Error('wrapped', { cause: queryFailed })).status).toBe(409);
    expect(answer(Object.assign(new Error('exclusion'), { code: '23P01' })).status).toBe(409);
  });

  it('answers the event store\'s "already stored with different content" and a lost expected position with 409, also wrapped', () => {
    const stored = new EventStoreError('event_id_conflict', 'event program:x#1 is already stored in program:x at 1 with different content');
    expect(answer(stored)).toMatchObject({ status: 409, body: { error: 'conflict' } });
    expect(answer(new Error('append failed', { cause: stored })).status).toBe(409);
    expect(answer(new EventStoreError('wrong_expected_position', 'stream program:x is at 1, the writer expected 0')).status).toBe(409);
  });

  it('still answers what it does not know with a 500', () => {
    expect(answer(new Error('a bug')).status).toBe(500);
  });
});
