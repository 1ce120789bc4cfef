export * from './shared/canonical';
export * from './shared/errors';
export * from './shared/time';
export * from './policy/schema';
export * from './policy/parse';
export * from './policy/defaults';
