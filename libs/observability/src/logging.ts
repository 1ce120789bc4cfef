import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { currentTraceId } from './tracing';
import { pino, stdTimeFunctions, type DestinationStream, type Level, type Logger } from 'pino';

/** What a log record says about the caller: who, in which role (never the token). */
interface WithPrincipal {
  principal?: { sub: string; role: string; org?: string };
}

export type LogLevelName = 'error' | 'warn' | 'info' | 'debug';

export interface LoggingOptions {
  /** `admin-api` or `worker`: every record carries it. */
  service: string;
  level: LogLevelName | Level;
  /** Where the JSON lines go; standard output by default. Tests hand in a stream they read. */
  destination?: DestinationStream;
}

/** The process's one pino logger: JSON lines, ISO timestamps, level as a word. */
export function createRootLogger({ service, level, destination }: LoggingOptions): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** An incoming id is kept when it is a plain token (no log injection); otherwise a new one is made. */
const REQUEST_ID = /^[\w.:@-]{1,128}$/;

export function requestIdFor(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('X-Request-Id', id);
  return id;
}

export function principalOf(req: IncomingMessage): { subject: string; role: string; org?: string } | undefined {
  const principal = (req as IncomingMessage & WithPrincipal).principal;
  return principal && { subject: principal.sub, role: principal.role, ...(principal.org ? { org: principal.org } : {}) };
}

/**
 * pino-http options for nestjs-pino: the request id (incoming `X-Request-Id`, else a new UUID,
 * echoed in the response) on every record of the request, the principal on the completion record,
 * and no headers (they hold bearer tokens).
 */
export function httpLoggingOptions(logger: Logger) {
  return {
    logger,
    genReqId: requestIdFor,
    customAttributeKeys: { reqId: 'requestId' },
    quietReqLogger: true, // records logged while handling carry the request id, not the whole request
    customProps: (req: IncomingMessage) => {
      const principal = principalOf(req);
      const traceId = currentTraceId();
      return { ...(principal ? { principal } : {}), ...(traceId ? { traceId } : {}) };
    },
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, url: req.url }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
    // Health probes and scrapes every few seconds would drown the log.
    autoLogging: { ignore: (req: IncomingMessage) => /^\/(health|metrics)(\/|$)/.test(req.url ?? '') },
  };
}

/** Nest's level list for a LOG_LEVEL: what the framework logs before pino takes over. */
export function nestLevels(level: LogLevelName): ('error' | 'warn' | 'log' | 'debug')[] {
  const order = ['error', 'warn', 'log', 'debug'] as const;
  const index = { error: 0, warn: 1, info: 2, debug: 3 }[level];
  return order.slice(0, index + 1);
}

/**
 * Nest's logger on the root pino logger, for what Nest says while it boots (and if booting fails,
 * before nestjs-pino's request-aware Logger takes over): JSON from the first line on.
 */
export function bootLogger(root: Logger) {
  const write = (level: 'error' | 'warn' | 'info' | 'debug') => (message: unknown, ...rest: unknown[]) => {
    const context = typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined;
    const stack = level === 'error' && typeof rest[0] === 'string' && rest.length > 1 ? rest[0] : undefined;
    root[level]({ context, ...(stack ? { stack } : {}) }, message instanceof Error ? (message.stack ?? message.message) : String(message));
  };
  return { log: write('info'), error: write('error'), warn: write('warn'), debug: write('debug'), verbose: write('debug'), fatal: write('error') };
}
