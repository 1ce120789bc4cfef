/**
 * What `simulate` runs on: the Temporal time-skipping test server (the real binary, resolved as the
 * tests resolve it), a throwaway database on the local PostgreSQL (or the embedded one), and a
 * worker with the real activities: event store, outbox, GPU ledger on the ledger-only provider.
 * Everything is created for one command and removed when it ends.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { projectRoot } from '@concentra/config';
import { EventActivities, EventStore, PROJECTIONS, createDataSource, migrate } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { GpuLedger, GpuProviders, GpuProvisioningActivities, LedgerProvider } from '@concentra/gpu';
import { activitiesOf, bundleWorkflows } from '@concentra/temporal';
import { createDatabaseIfMissing, dropDatabase, ensurePostgres, withDatabase } from '@concentra/tools/postgres';
import { resolveTemporalBinary } from '@concentra/tools/temporal-binaries';

export interface SimulationStack {
  env: TestWorkflowEnvironment;
  db: DataSource;
  store: EventStore;
  ledger: GpuLedger;
  taskQueue: string;
  close(): Promise<void>;
}

export interface StackOptions {
  /** A PostgreSQL URL whose server may create databases; default: the local server, else the embedded one. */
  adminUrl?: string;
  log?: (line: string) => void;
}

export async function startSimulationStack(options: StackOptions = {}): Promise<SimulationStack> {
  const log = options.log ?? (() => undefined);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    // The worker's own lines (every event recorded) would bury the report; warnings still show.
    // A process that installed its runtime already (the tests) keeps its own.
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed
    }
    // The bundle `npm run build` wrote, where there is one; otherwise (tests) bundled now. The test
    // server, the database and the worker are made ready at once, each waiting only for what it
    // needs: the worker is created (its bundle loaded) while the database is being migrated, and
    // polls only once both are ready.
    const prebuilt = join(projectRoot(__dirname), 'dist', 'workflow-bundle.js');
    const bundle = existsSync(prebuilt) && __filename.includes(`${join('dist', 'apps')}`) ? Promise.resolve({ codePath: prebuilt }) : bundleWorkflows();
    const server = (async () => {
      // Loaded here: @temporalio/testing is a dev dependency, like the embedded PostgreSQL.
      const { TestWorkflowEnvironment } = await import('@temporalio/testing');
      const path = await resolveTemporalBinary('test-server', log);
      const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
      stops.push(() => env.teardown());
      return env;
    })();
    const database = (async () => {
      let admin = options.adminUrl;
      if (!admin) {
        const pg = await ensurePostgres('postgres', log);
        stops.push(() => pg.stop());
        admin = pg.url;
      }
      const name = `concentra_simulate_${randomBytes(5).toString('hex')}`;
      await createDatabaseIfMissing(admin, name);
      const adminUrl = admin;
      stops.push(() => dropDatabase(adminUrl, name));
      return createDataSource(withDatabase(admin, name), { applicationName: 'concentra-simulate' });
    })();
    const migrated = database.then(async (db) => {
      await db.initialize();
      stops.push(() => db.destroy());
      await migrate(db);
    });
    const taskQueue = `simulate-${randomBytes(3).toString('hex')}`;
    const created = Promise.all([server, database, bundle]).then(async ([env, db, workflowBundle]) => {
      // Nothing here touches the database until the worker runs: the constructors keep the data source.
      const store = new EventStore(db, PROJECTIONS);
      const ledger = new GpuLedger(db, store, new GpuProviders([new LedgerProvider(db)]));
      const worker = await Worker.create({
        connection: env.nativeConnection,
        namespace: env.namespace,
        taskQueue,
        workflowBundle,
        activities: {
          ...activitiesOf(new EventActivities(store)),
          ...activitiesOf(new NotificationActivities(db)),
          ...activitiesOf(new GpuProvisioningActivities(ledger)),
        },
      });
      return { env, db, store, ledger, worker };
    });
    // Every part settled before a failure is thrown, so that whatever was started is stopped.
    const outcomes = await Promise.allSettled([server, migrated, created]);
    for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
    const { env, db, store, ledger, worker } = (outcomes[2] as PromiseFulfilledResult<Awaited<typeof created>>).value;
    const running = worker.run();
    stops.push(async () => {
      worker.shutdown();
      await running;
    });
    return { env, db, store, ledger, taskQueue, close: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
