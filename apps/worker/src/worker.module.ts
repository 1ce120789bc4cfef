import { Module } from '@nestjs/common';
import { ConfigModule } from '@concentra/config';
import { EvaluationActivities, EvaluationModule } from '@concentra/evaluation';
import { GpuModule, GpuProvisioningActivities } from '@concentra/gpu';
import { NotificationActivities, NotificationDeliveryModule, NotificationsModule } from '@concentra/notifications';
import { EventActivities, PersistenceModule } from '@concentra/persistence';
import { WorkerActivities, WorkerHost, activitiesOf } from '@concentra/temporal';

/** The worker: a Nest application context hosting the Temporal worker and the libs' activities. */
@Module({
  imports: [ConfigModule, PersistenceModule, NotificationsModule, NotificationDeliveryModule, GpuModule, EvaluationModule],
  providers: [
    {
      provide: WorkerActivities,
      inject: [EventActivities, NotificationActivities, GpuProvisioningActivities, EvaluationActivities],
      useFactory: (events: EventActivities, notifications: NotificationActivities, gpu: GpuProvisioningActivities, evaluation: EvaluationActivities): WorkerActivities => ({
        activities: { ...activitiesOf(events), ...activitiesOf(notifications), ...activitiesOf(gpu), ...activitiesOf(evaluation) },
      }),
    },
    WorkerHost,
  ],
})
export class WorkerModule {}
