import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * GPU pool (libs/gpu): a refusal records what decided it (`refusal_detail`: the rule, the capacity
 * rows involved, the policy version, whether a retry can succeed), and an allocation records the
 * count it was asked for (`asked_count`), so a partially served grant knows its shortfall.
 * Allocations now hold capacity from reservation until release: the index below serves the sum of
 * what is held on a row, and the lessor rule's look-up of an organisation's leases.
 */
export class GpuRefusalsAndShortfall1764288310000 implements MigrationInterface {
  name = 'GpuRefusalsAndShortfall1764288310000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE gpu_allocations ADD COLUMN refusal_detail jsonb`);
    await db.query(`ALTER TABLE gpu_allocations ADD COLUMN asked_count integer CHECK (asked_count IS NULL OR asked_count > 0)`);
    await db.query(`UPDATE gpu_allocations SET asked_count = count WHERE capacity_id IS NOT NULL AND count > 0`);
    await db.query(`CREATE INDEX gpu_allocations_held_idx ON gpu_allocations (capacity_id) INCLUDE (count) WHERE status IN ('reserved', 'active')`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX gpu_allocations_held_idx`);
    await db.query(`ALTER TABLE gpu_allocations DROP COLUMN asked_count`);
    await db.query(`ALTER TABLE gpu_allocations DROP COLUMN refusal_detail`);
  }
}
