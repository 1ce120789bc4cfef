import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A team may owe several things of one kind at once: the reports of its grant (issue 15, item 5),
 * each due on its own date. `item` names which one (the report's id; '' for everything else) and
 * joins the key, so one owed row no longer hides another.
 */
export class OwedItem1764288700000 implements MigrationInterface {
  name = 'OwedItem1764288700000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE cycle_owed ADD COLUMN item text NOT NULL DEFAULT ''`);
    await db.query(`ALTER TABLE cycle_owed DROP CONSTRAINT cycle_owed_pkey, ADD PRIMARY KEY (cycle_id, role, subject, organisation_id, what, application_id, item)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DELETE FROM cycle_owed WHERE item <> ''`);
    await db.query(`ALTER TABLE cycle_owed DROP CONSTRAINT cycle_owed_pkey, ADD PRIMARY KEY (cycle_id, role, subject, organisation_id, what, application_id)`);
    await db.query(`ALTER TABLE cycle_owed DROP COLUMN item`);
  }
}
