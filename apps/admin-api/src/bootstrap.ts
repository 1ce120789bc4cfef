import { Module, type DynamicModule, type INestApplication, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';
import type { DestinationStream } from 'pino';
import { loadEnvironment } from '@concentra/config';
import { activeTracing, bootLogger, createRootLogger, httpMetrics, httpTracing, loggingModule, TracingModule, type LogLevelName } from '@concentra/observability';
import { AdminApiModule } from './admin-api.module';
import { DevSignInModule } from './auth/dev-sign-in';
import { consoleDirectory, serveConsole } from './console/console-static';
import { methodNotAllowed } from './http/method-not-allowed';
import { buildOpenApiDocument } from './http/openapi';

export interface AdminApiOptions {
  /** Overrides LOG_LEVEL (tests keep their output quiet). */
  logLevel?: LogLevelName;
  /** Where the JSON log lines go (standard output by default); tests read them back. */
  logDestination?: DestinationStream;
}

@Module({})
class AdminApiRoot {}

/** Builds the HTTP app (used by main.ts and by the integration tests, so both serve the same thing). */
export async function createAdminApi(options: AdminApiOptions | LogLevel[] = {}): Promise<INestApplication> {
  const { logLevel, logDestination } = Array.isArray(options) ? { logLevel: lowest(options), logDestination: undefined } : options;
  const env = loadEnvironment();
  const logger = createRootLogger({ service: 'admin-api', level: logLevel ?? env.LOG_LEVEL, destination: logDestination });
  // The console's local sign-in exists outside production only: there the route is not even there.
  const modules = env.NODE_ENV === 'production' ? [AdminApiModule] : [AdminApiModule, DevSignInModule];
  const root: DynamicModule = { module: AdminApiRoot, imports: [loggingModule(logger), TracingModule, ...modules] };
  const app = await NestFactory.create<NestExpressApplication>(root, { logger: bootLogger(logger), abortOnError: false });
  app.useLogger(app.get(Logger));
  // First, so the request's span is active for everything after it (logs carry its trace id).
  const tracing = activeTracing();
  if (tracing) app.use(httpTracing(tracing));
  app.use(httpMetrics);
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  app.use(helmet());
  serveConsole(app, consoleDirectory(env.CONSOLE_DIR), env);
  const document = buildOpenApiDocument(app, modules);
  app.use(methodNotAllowed(document));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}

/** The tests' Nest level lists (`['error', 'warn']`) as a pino level. */
function lowest(levels: LogLevel[]): LogLevelName {
  if (levels.includes('debug') || levels.includes('verbose')) return 'debug';
  if (levels.includes('log')) return 'info';
  return levels.includes('warn') ? 'warn' : 'error';
}
