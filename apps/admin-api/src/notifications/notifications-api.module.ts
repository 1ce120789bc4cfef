import { Module } from '@nestjs/common';
import { NotificationsModule } from '@concentra/notifications';
import { CycleNotificationsController, DirectoryController } from './notifications.controller';
import { NotificationsService } from './notifications.service';

/** The directory of recipients and the cycle's notifications over HTTP. */
@Module({
  imports: [NotificationsModule],
  controllers: [CycleNotificationsController, DirectoryController],
  providers: [NotificationsService],
})
export class NotificationsApiModule {}
