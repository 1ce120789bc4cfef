import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../event-store/types';
import type { Projection } from './projection';

/**
 * cycles: one row per yearly cycle with its current stage. The workflow records with each event the
 * stage the cycle is in after it (`metadata.stage`, from the domain's evolve), so this table never
 * re-implements a stage rule.
 */
export const cyclesProjection: Projection = {
  name: 'cycles',
  appliesTo: (event) => event.streamId.startsWith('cycle:'),
  async apply(tx: EntityManager, event: StoredEvent) {
    if (!event.streamId.startsWith('cycle:')) return;
    const data = event.data as { program?: string; year?: number; policyHash?: string; closesAt?: string };
    const stage = typeof event.metadata.stage === 'string' ? event.metadata.stage : null;
    if (event.type === 'CallOpened' && event.streamPosition === 1) {
      await tx.query(
        `INSERT INTO cycles (id, program_slug, year, stage, policy_hash, call_closes_at, opened_at, updated_at, last_position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8)`,
        [event.streamId, data.program, data.year, stage ?? 'call', data.policyHash, data.closesAt ?? null, event.occurredAt, event.streamPosition],
      );
      return;
    }
    await tx.query(
      `UPDATE cycles SET stage = COALESCE($2, stage), call_closes_at = COALESCE($3, call_closes_at),
         updated_at = $4, last_position = $5 WHERE id = $1`,
      [event.streamId, stage, data.closesAt ?? null, event.occurredAt, event.streamPosition],
    );
  },
  async reset(tx) {
    await tx.query('DELETE FROM cycles');
  },
};
