import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode, type BundleOptions, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { projectRoot } from '@concentra/config';
import { WORKFLOW_TRACING_MODULE } from './tracing';

/**
 * Bundler options for workflows/src: the same `@concentra/*` aliases as tsconfig.json, limited
 * to what workflow code may import (the domain and the workflow contracts).
 */
export function workflowBundleOptions(): BundleOptions {
  const root = projectRoot(__dirname);
  return {
    workflowsPath: join(root, 'workflows', 'src', 'index.ts'),
    // In every bundle, traced or not: a prebuilt bundle is fixed before the worker reads its environment.
    workflowInterceptorModules: [WORKFLOW_TRACING_MODULE],
    webpackConfigHook: (config) => ({
      ...config,
      resolve: {
        ...config.resolve,
        alias: {
          ...(config.resolve?.alias as Record<string, string>),
          '@concentra/domain': join(root, 'libs', 'domain', 'src'),
          '@concentra/workflows': join(root, 'workflows', 'src'),
        },
      },
    }),
  };
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ ...workflowBundleOptions(), logger: quietLogger });
}

/** The bundler's logger that keeps its progress chatter out of the output (warnings and errors stay). */
export const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/** Builds the bundle once and writes it where a worker's WORKFLOW_BUNDLE_PATH can point. */
export async function writeWorkflowBundle(path: string): Promise<string> {
  const { code } = await bundleWorkflows();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return path;
}
