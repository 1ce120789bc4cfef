export * from './logging';
export * from './logging.module';
export * from './temporal-logging';
export * from './dependency-probe';
export * from './health';
export * from './metrics';
export * from './pool-metrics';
