import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read tables of a running cycle, kept by the cycle-details projection from the cycle's events:
 * the domain's own state (folded with `evolve`), applications, rankings, decisions, grants and
 * what is owed by whom. Every row is derived from the events and rebuilt from zero on demand.
 */
export class CycleDetails1764288410000 implements MigrationInterface {
  name = 'CycleDetails1764288410000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE cycle_states (
        cycle_id   text PRIMARY KEY,
        position   integer NOT NULL,
        stage      text NOT NULL,
        state      jsonb NOT NULL
      )`);
    await db.query(`
      CREATE TABLE cycle_applications (
        cycle_id              text NOT NULL,
        application_id        text NOT NULL,
        title                 text NOT NULL,
        summary               text,
        lead_organisation_id  text NOT NULL,
        lead                  jsonb NOT NULL,
        members               jsonb NOT NULL,
        organisation_ids      text[] NOT NULL,
        status                text NOT NULL,
        submitted_at          timestamptz NOT NULL,
        submitted_by          text NOT NULL,
        refill_key            text,
        updated_position      integer NOT NULL,
        PRIMARY KEY (cycle_id, application_id)
      )`);
    await db.query(`CREATE INDEX cycle_applications_organisations_idx ON cycle_applications USING gin (organisation_ids)`);
    await db.query(`
      CREATE TABLE cycle_rankings (
        cycle_id    text NOT NULL,
        position    integer NOT NULL,
        event_type  text NOT NULL,
        kind        text NOT NULL,
        key         text NOT NULL,
        round       integer,
        result      jsonb NOT NULL,
        kept        jsonb NOT NULL,
        dropped     jsonb NOT NULL,
        at          timestamptz NOT NULL,
        PRIMARY KEY (cycle_id, position)
      )`);
    await db.query(`
      CREATE TABLE cycle_decisions (
        cycle_id                  text NOT NULL,
        position                  integer NOT NULL,
        event_type                text NOT NULL,
        kind                      text NOT NULL,
        decision_key              text NOT NULL,
        round                     integer,
        kept                      jsonb NOT NULL,
        dropped                   jsonb NOT NULL,
        approval                  jsonb NOT NULL,
        overridden                boolean NOT NULL,
        rationale                 text,
        decided_at                timestamptz NOT NULL,
        objection_window_ends_at  timestamptz,
        PRIMARY KEY (cycle_id, position)
      )`);
    await db.query(`
      CREATE TABLE cycle_grants (
        cycle_id          text NOT NULL,
        application_id    text NOT NULL,
        grant_id          text NOT NULL,
        status            text NOT NULL,
        gpus              jsonb NOT NULL,
        allocation_id     text,
        started_at        timestamptz,
        ends_at           timestamptz,
        ended_at          timestamptz,
        end_reason        text,
        gpu_hours_used    double precision,
        updated_position  integer NOT NULL,
        PRIMARY KEY (cycle_id, application_id)
      )`);
    await db.query(`
      CREATE TABLE cycle_owed (
        cycle_id         text NOT NULL,
        role             text NOT NULL,
        subject          text NOT NULL DEFAULT '',
        organisation_id  text NOT NULL DEFAULT '',
        what             text NOT NULL,
        application_id   text NOT NULL DEFAULT '',
        due_at           timestamptz,
        deadline         text,
        PRIMARY KEY (cycle_id, role, subject, organisation_id, what, application_id)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['cycle_owed', 'cycle_grants', 'cycle_decisions', 'cycle_rankings', 'cycle_applications', 'cycle_states']) {
      await db.query(`DROP TABLE ${table}`);
    }
  }
}
