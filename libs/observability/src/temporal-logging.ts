import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import type { Logger } from 'pino';

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * The Temporal SDK's logger interface on pino: what `Runtime.install({ logger })` receives, so core's
 * forwarded logs, the worker's own, workflow `log` (replay-safe: dropped while replaying) and
 * activity `log` records all land in the process's JSON log. Workflow and activity records carry
 * their workflow id and run id as `workflowId` / `runId`.
 */
export function temporalLogger(root: Logger): TemporalLogger {
  const log = (level: LogLevel, message: string, meta?: LogMetadata) => root[LEVELS[level]](fields(meta), message);
  return {
    log,
    trace: (message, meta) => log('TRACE', message, meta),
    debug: (message, meta) => log('DEBUG', message, meta),
    info: (message, meta) => log('INFO', message, meta),
    warn: (message, meta) => log('WARN', message, meta),
    error: (message, meta) => log('ERROR', message, meta),
  };
}

function fields(meta: LogMetadata | undefined): Record<string, unknown> {
  if (!meta) return { component: 'temporal' };
  const { workflowRunId, runId, sdkComponent, ...rest } = meta as Record<string, unknown>;
  return { component: sdkComponent ?? 'temporal', ...rest, ...((runId ?? workflowRunId) ? { runId: runId ?? workflowRunId } : {}) };
}

/** LOG_LEVEL in the SDK's words. */
export function temporalLevel(level: string): LogLevel {
  return ({ error: 'ERROR', warn: 'WARN', info: 'INFO', debug: 'DEBUG', trace: 'TRACE' } as Record<string, LogLevel>)[level] ?? 'INFO';
}
