import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The evaluation service's runs against teams' model endpoints. `evaluation_item_results` holds one
 * row per run and item, keyed by both: a run resumed after a worker crash reads which items are
 * already answered and never asks them again, and a second write of an item changes nothing.
 * `evaluation_runs` is the run's header (suite version, seed, endpoint, how many items) that the
 * progress route reads. The endpoint's credential is never stored: only its reference name.
 */
export class EvaluationRuns1764288600000 implements MigrationInterface {
  name = 'EvaluationRuns1764288600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE evaluation_runs (
        run_id          text PRIMARY KEY,
        cycle_id        text NOT NULL,
        round           integer NOT NULL,
        application_id  text NOT NULL,
        suite_id        text NOT NULL,
        suite_version   text NOT NULL,
        seed            text NOT NULL,
        total           integer NOT NULL CHECK (total > 0),
        base_url        text NOT NULL,
        model           text NOT NULL,
        credential_ref  text,
        started_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz
      )`);
    await db.query(`CREATE INDEX evaluation_runs_cycle_idx ON evaluation_runs (cycle_id, round)`);
    await db.query(`
      CREATE TABLE evaluation_item_results (
        run_id           text NOT NULL REFERENCES evaluation_runs (run_id),
        item_id          text NOT NULL,
        position         integer NOT NULL,
        status           text NOT NULL CHECK (status IN ('answered', 'failed')),
        correct          boolean NOT NULL,
        answer           text,
        response_sha256  text,
        response         text,
        error            text,
        attempts         integer NOT NULL CHECK (attempts > 0),
        recorded_at      timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, item_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE evaluation_item_results`);
    await db.query(`DROP TABLE evaluation_runs`);
  }
}
