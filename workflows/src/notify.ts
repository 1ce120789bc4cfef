import { proxyActivities } from '@temporalio/workflow';
import type { NotificationActivities } from '@concentra/notifications';

/** The outbox write is idempotent by key, so it is retried until it lands. */
export const notifications = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', backoffCoefficient: 2 },
});
