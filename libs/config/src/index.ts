export * from './environment';
export * from './config.module';
export * from './project-root';
export * from './temporal-connection';
