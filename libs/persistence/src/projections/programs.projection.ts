import type { EntityManager } from 'typeorm';
import type { StoredEvent } from '../event-store/types';
import type { Projection } from './projection';

/** programs and policy_versions: one row per program, every policy version by its hash. */
export const programsProjection: Projection = {
  name: 'programs',
  appliesTo: (event) => event.type === 'ProgramCreated' || event.type === 'PolicyVersionAdopted',
  async apply(tx: EntityManager, event: StoredEvent) {
    if (!programsProjection.appliesTo!(event)) return;
    const { slug, name, policy, policyHash } = event.data as { slug: string; name?: string; policy: unknown; policyHash: string };
    await tx.query(
      `INSERT INTO policy_versions (hash, document, first_seen) VALUES ($1, $2, $3) ON CONFLICT (hash) DO NOTHING`,
      [policyHash, policy, event.occurredAt],
    );
    if (event.type === 'ProgramCreated') {
      await tx.query(
        `INSERT INTO programs (slug, name, policy_hash, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
        [slug, name, policyHash, event.metadata.actor?.subject ?? 'system', event.occurredAt],
      );
    } else {
      await tx.query(`UPDATE programs SET policy_hash = $2 WHERE slug = $1`, [slug, policyHash]);
    }
  },
  async reset(tx) {
    await tx.query('DELETE FROM programs');
    await tx.query('DELETE FROM policy_versions');
  },
};
