import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The national GPU pool ledger (libs/gpu): capacity by site/cluster and type, the pool policy
 * (equivalence rates, lessor conflict, usage thresholds) as versioned data, allocations with their
 * lifecycle, idempotent operations, and usage samples. Ledger changes are also domain events.
 */
export class GpuPool1764288300000 implements MigrationInterface {
  name = 'GpuPool1764288300000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE gpu_pool_policies (
        version     integer PRIMARY KEY CHECK (version >= 1),
        document    jsonb NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        created_by  text NOT NULL
      )`);
    await db.query(
      `INSERT INTO gpu_pool_policies (version, document, created_by) VALUES (1, $1, 'migration')`,
      [
        JSON.stringify({
          rates: { H100: 1, H200: 1.5, B200: 2 },
          lessorConflict: 'exclude_while_in_use',
          reallocation: 'to_pool',
          thresholds: [
            { atFraction: 0.8, action: 'warn' },
            { atFraction: 1, action: 'suspend' },
          ],
          throttle: { gpuFraction: 0.5, qos: 'concentra-throttled' },
        }),
      ],
    );
    await db.query(`
      CREATE TABLE gpu_capacity (
        id                      text PRIMARY KEY,
        site                    text NOT NULL,
        cluster                 text NOT NULL,
        provider                text NOT NULL,
        gpu_type                text NOT NULL CHECK (gpu_type = upper(gpu_type)),
        count                   integer NOT NULL CHECK (count > 0),
        ownership               text NOT NULL CHECK (ownership IN ('owned', 'leased')),
        lessor_organisation_id  text,
        available_from          timestamptz NOT NULL,
        available_until         timestamptz,
        registered_at           timestamptz NOT NULL DEFAULT now(),
        registered_by           text NOT NULL,
        CHECK ((ownership = 'owned') = (lessor_organisation_id IS NULL)),
        CHECK (available_until IS NULL OR available_until > available_from)
      )`);
    await db.query(`CREATE INDEX gpu_capacity_type_idx ON gpu_capacity (gpu_type)`);
    await db.query(`CREATE INDEX gpu_capacity_lessor_idx ON gpu_capacity (lessor_organisation_id) WHERE lessor_organisation_id IS NOT NULL`);
    await db.query(`
      CREATE TABLE gpu_allocations (
        id                  text PRIMARY KEY,
        idempotency_key     text NOT NULL UNIQUE,
        input_hash          char(64) NOT NULL,
        grant_id            text NOT NULL,
        organisation_id     text NOT NULL,
        status              text NOT NULL CHECK (status IN ('requested', 'reserved', 'active', 'released', 'refused')),
        request             jsonb NOT NULL,
        policy_version      integer NOT NULL REFERENCES gpu_pool_policies (version),
        capacity_id         text REFERENCES gpu_capacity (id),
        site                text,
        cluster             text,
        provider            text,
        gpu_type            text,
        count               integer CHECK (count IS NULL OR count >= 0),
        rate                double precision,
        window_from         timestamptz NOT NULL,
        window_to           timestamptz NOT NULL CHECK (window_to > window_from),
        gpu_minutes         double precision,
        users               jsonb NOT NULL DEFAULT '[]',
        account             text,
        mode                text NOT NULL DEFAULT 'normal' CHECK (mode IN ('normal', 'throttled', 'suspended')),
        refusal_reason      text,
        refusal_message     text,
        released_reason     text,
        gpu_minutes_used    double precision NOT NULL DEFAULT 0,
        thresholds_crossed  jsonb NOT NULL DEFAULT '[]',
        requested_at        timestamptz NOT NULL,
        reserved_at         timestamptz,
        activated_at        timestamptz,
        released_at         timestamptz,
        refused_at          timestamptz,
        updated_at          timestamptz NOT NULL,
        CHECK (status IN ('requested', 'refused') OR capacity_id IS NOT NULL)
      )`);
    // One live allocation per grant, whatever the keys say.
    await db.query(`
      CREATE UNIQUE INDEX gpu_allocations_one_live_per_grant ON gpu_allocations (grant_id)
      WHERE status IN ('requested', 'reserved', 'active')`);
    await db.query(`CREATE INDEX gpu_allocations_grant_idx ON gpu_allocations (grant_id, requested_at)`);
    await db.query(`
      CREATE INDEX gpu_allocations_live_on_capacity_idx ON gpu_allocations (capacity_id)
      WHERE status IN ('reserved', 'active')`);
    await db.query(`
      CREATE TABLE gpu_operations (
        idempotency_key  text PRIMARY KEY,
        grant_id         text NOT NULL,
        kind             text NOT NULL CHECK (kind IN ('change', 'release', 'meter')),
        input_hash       char(64) NOT NULL,
        allocation_id    text REFERENCES gpu_allocations (id),
        status           text NOT NULL CHECK (status IN ('started', 'done')),
        target           jsonb,
        result           jsonb,
        started_at       timestamptz NOT NULL,
        finished_at      timestamptz
      )`);
    await db.query(`
      CREATE TABLE gpu_usage_samples (
        idempotency_key   text PRIMARY KEY,
        allocation_id     text NOT NULL REFERENCES gpu_allocations (id),
        grant_id          text NOT NULL,
        gpu_type          text NOT NULL,
        site              text NOT NULL,
        measured_at       timestamptz NOT NULL,
        gpu_minutes_used  double precision NOT NULL
      )`);
    await db.query(`CREATE INDEX gpu_usage_samples_time_idx ON gpu_usage_samples (allocation_id, measured_at)`);
    // Transactional outbox: each ledger transaction writes the events it implies; they are then
    // appended to the event store (idempotent by event id), again on every retry until appended.
    await db.query(`
      CREATE TABLE gpu_event_outbox (
        seq          bigserial PRIMARY KEY,
        event_id     text NOT NULL UNIQUE,
        stream_id    text NOT NULL,
        type         text NOT NULL,
        data         jsonb NOT NULL,
        metadata     jsonb NOT NULL,
        occurred_at  timestamptz NOT NULL,
        appended_at  timestamptz
      )`);
    await db.query(`CREATE INDEX gpu_event_outbox_pending_idx ON gpu_event_outbox (stream_id, seq) WHERE appended_at IS NULL`);
    // Accounts of the ledger-only provider (capacity handed out by hand, and workflow tests).
    await db.query(`
      CREATE TABLE gpu_ledger_accounts (
        cluster      text NOT NULL,
        account      text NOT NULL,
        grant_id     text NOT NULL,
        limits       jsonb NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (cluster, account)
      )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE gpu_ledger_accounts`);
    await db.query(`DROP TABLE gpu_event_outbox`);
    await db.query(`DROP TABLE gpu_usage_samples`);
    await db.query(`DROP TABLE gpu_operations`);
    await db.query(`DROP TABLE gpu_allocations`);
    await db.query(`DROP TABLE gpu_capacity`);
    await db.query(`DROP TABLE gpu_pool_policies`);
  }
}
