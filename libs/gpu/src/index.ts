export * from './gpu.activities';
