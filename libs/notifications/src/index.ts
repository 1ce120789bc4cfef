export * from './notification.activities';
export * from './notifications.module';
