import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppEnvironment, databaseUrl } from '@concentra/config';
import { DataSource } from 'typeorm';
import { createDataSource, migrate } from './data-source';
import { EventStore } from './event-store/event-store';
import { cyclesProjection } from './projections/cycles.projection';
import { cycleDetailsProjection } from './projections/cycle-details.projection';
import { programsProjection } from './projections/programs.projection';
import { noticesProjection } from './projections/notices.projection';
import { EventActivities } from './event.activities';
import { ReadModels } from './read-models';

/** The projections kept inline with every append, in the order they apply. */
export const PROJECTIONS = [programsProjection, cyclesProjection, cycleDetailsProjection, noticesProjection];

@Module({
  providers: [
    {
      provide: DataSource,
      inject: [AppEnvironment],
      useFactory: async (env: AppEnvironment) => {
        const db = await createDataSource(databaseUrl(env)).initialize();
        if (env.MIGRATIONS_RUN) await migrate(db);
        return db;
      },
    },
    { provide: EventStore, inject: [DataSource], useFactory: (db: DataSource) => new EventStore(db, PROJECTIONS) },
    { provide: ReadModels, inject: [DataSource], useFactory: (db: DataSource) => new ReadModels(db) },
    { provide: EventActivities, inject: [EventStore], useFactory: (store: EventStore) => new EventActivities(store) },
  ],
  exports: [DataSource, EventStore, EventActivities, ReadModels],
})
export class PersistenceModule implements OnApplicationShutdown {
  constructor(@Inject(DataSource) private readonly db: DataSource) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.db.isInitialized) await this.db.destroy();
  }
}
