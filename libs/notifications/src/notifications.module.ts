import { Inject, Injectable, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AppEnvironment } from '@concentra/config';
import { PersistenceModule } from '@concentra/persistence';
import { DataSource } from 'typeorm';
import { NotificationActivities } from './notification.activities';
import { Directory } from './directory/directory';
import { NotificationReads } from './delivery/notification-reads';
import { NotificationRelay } from './delivery/notification-relay';

/** The outbox writer (activities), the directory and the reads of what was delivered. */
@Module({
  imports: [PersistenceModule],
  providers: [
    { provide: NotificationActivities, inject: [DataSource], useFactory: (db: DataSource) => new NotificationActivities(db) },
    { provide: Directory, inject: [DataSource], useFactory: (db: DataSource) => new Directory(db) },
    { provide: NotificationReads, inject: [DataSource], useFactory: (db: DataSource) => new NotificationReads(db) },
  ],
  exports: [NotificationActivities, Directory, NotificationReads],
})
export class NotificationsModule {}

/** Runs the relay for as long as the process (the worker) runs. */
@Injectable()
export class NotificationRelayHost implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly relay: NotificationRelay;

  constructor(@Inject(DataSource) db: DataSource, @Inject(AppEnvironment) env: AppEnvironment) {
    this.relay = new NotificationRelay(db, { smtpUrl: env.SMTP_URL ?? null }, (message) => console.error(message));
  }

  onApplicationBootstrap(): void {
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

/** Delivery (email and webhooks) from the outbox; imported by the worker. */
@Module({ imports: [PersistenceModule], providers: [NotificationRelayHost] })
export class NotificationDeliveryModule {}
