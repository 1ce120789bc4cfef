import { Module } from '@nestjs/common';
import { PersistenceModule } from '@concentra/persistence';
import { DataSource } from 'typeorm';
import { NotificationActivities } from './notification.activities';

@Module({
  imports: [PersistenceModule],
  providers: [{ provide: NotificationActivities, inject: [DataSource], useFactory: (db: DataSource) => new NotificationActivities(db) }],
  exports: [NotificationActivities],
})
export class NotificationsModule {}
