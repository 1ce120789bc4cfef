export * from './logging';
export * from './logging.module';
export * from './temporal-logging';
