export * from './connection-options';
export * from './temporal-client.module';
export * from './worker-host';
export * from './workflow-bundle';
export * from './tracing';
export * from './worker-versioning';
export * from './at-rest';
