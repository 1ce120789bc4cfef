import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Read tables derived from the events; every row can be rebuilt from zero. */
export class ReadModels1764288100000 implements MigrationInterface {
  name = 'ReadModels1764288100000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE policy_versions (
        hash        char(64) PRIMARY KEY,
        document    jsonb NOT NULL,
        first_seen  timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE programs (
        slug         text PRIMARY KEY,
        name         text NOT NULL,
        policy_hash  char(64) NOT NULL REFERENCES policy_versions (hash),
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL
      )`);
    await db.query(`
      CREATE TABLE cycles (
        id               text PRIMARY KEY,
        program_slug     text NOT NULL,
        year             integer NOT NULL,
        stage            text NOT NULL,
        policy_hash      char(64) NOT NULL,
        call_closes_at   timestamptz,
        opened_at        timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        last_position    integer NOT NULL,
        UNIQUE (program_slug, year)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE cycles`);
    await db.query(`DROP TABLE programs`);
    await db.query(`DROP TABLE policy_versions`);
  }
}
