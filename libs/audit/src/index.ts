export * from './bundle';
export * from './cross-check';
export * from './export';
export * from './history';
export * from './rederive';
export * from './replay';
export * from './timeline';
export * from './verify';
