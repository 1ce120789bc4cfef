import { Module } from '@nestjs/common';
import { ConfigModule } from '@concentra/config';
import { GpuModule, GpuProvisioningActivities } from '@concentra/gpu';
import { NotificationActivities, NotificationDeliveryModule, NotificationsModule } from '@concentra/notifications';
import { EventActivities, PersistenceModule } from '@concentra/persistence';
import { WorkerActivities, WorkerHost, activitiesOf } from '@concentra/temporal';

/** The worker: a Nest application context hosting the Temporal worker and the libs' activities. */
@Module({
  imports: [ConfigModule, PersistenceModule, NotificationsModule, NotificationDeliveryModule, GpuModule],
  providers: [
    {
      provide: WorkerActivities,
      inject: [EventActivities, NotificationActivities, GpuProvisioningActivities],
      useFactory: (events: EventActivities, notifications: NotificationActivities, gpu: GpuProvisioningActivities): WorkerActivities => ({
        activities: { ...activitiesOf(events), ...activitiesOf(notifications), ...activitiesOf(gpu) },
      }),
    },
    WorkerHost,
  ],
})
export class WorkerModule {}
