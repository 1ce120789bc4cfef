import { Module } from '@nestjs/common';
import { ConfigModule } from '@concentra/config';
import { NotificationActivities, NotificationsModule } from '@concentra/notifications';
import { EventActivities, PersistenceModule } from '@concentra/persistence';
import { WorkerActivities, WorkerHost, activitiesOf } from '@concentra/temporal';

/** The worker: a Nest application context hosting the Temporal worker and the libs' activities. */
@Module({
  imports: [ConfigModule, PersistenceModule, NotificationsModule],
  providers: [
    {
      provide: WorkerActivities,
      inject: [EventActivities, NotificationActivities],
      useFactory: (events: EventActivities, notifications: NotificationActivities): WorkerActivities => ({
        activities: { ...activitiesOf(events), ...activitiesOf(notifications) },
      }),
    },
    WorkerHost,
  ],
})
export class WorkerModule {}
