import { EventStore1764288000000 } from './1764288000000-event-store';
import { ReadModels1764288100000 } from './1764288100000-read-models';
import { NotificationOutbox1764288500000 } from './1764288500000-notification-outbox';
import { NotificationDelivery1764288510000 } from './1764288510000-notification-delivery';
import { OutboxDeliveryColumns1764288520000 } from './1764288520000-outbox-delivery-columns';
import { GpuPool1764288300000 } from './1764288300000-gpu-pool';
import { GpuRefusalsAndShortfall1764288310000 } from './1764288310000-gpu-refusals-and-shortfall';
import { CycleDetails1764288410000 } from './1764288410000-cycle-details';
import { EvaluationRuns1764288600000 } from './1764288600000-evaluation-runs';
import { OwedItem1764288700000 } from './1764288700000-owed-item';

/** In order. Migrations are written by hand and reviewed; never generated and applied unread. */
export const migrations = [EventStore1764288000000, ReadModels1764288100000, GpuPool1764288300000, GpuRefusalsAndShortfall1764288310000, CycleDetails1764288410000, NotificationOutbox1764288500000, NotificationDelivery1764288510000, OutboxDeliveryColumns1764288520000, EvaluationRuns1764288600000, OwedItem1764288700000];
