export * from './suite';
export * from './statistics';
export * from './item-scoring';
export * from './benchmark-result';
