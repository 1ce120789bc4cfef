import { Module } from '@nestjs/common';
import { ConfigModule } from '@concentra/config';
import { EventActivities, PersistenceModule } from '@concentra/persistence';
import { WorkerActivities, WorkerHost, activitiesOf } from '@concentra/temporal';

/** The worker: a Nest application context hosting the Temporal worker and the libs' activities. */
@Module({
  imports: [ConfigModule, PersistenceModule],
  providers: [
    {
      provide: WorkerActivities,
      inject: [EventActivities],
      useFactory: (events: EventActivities): WorkerActivities => ({
        activities: { ...activitiesOf(events) },
      }),
    },
    WorkerHost,
  ],
})
export class WorkerModule {}
