import type { INestApplication, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { AdminApiModule } from './admin-api.module';
import { methodNotAllowed } from './http/method-not-allowed';
import { buildOpenApiDocument } from './http/openapi';

/** Builds the HTTP app (used by main.ts and by the integration tests, so both serve the same thing). */
export async function createAdminApi(logger: LogLevel[] = ['error', 'warn', 'log']): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AdminApiModule, { logger, abortOnError: false });
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  app.use(helmet());
  const document = buildOpenApiDocument(app, AdminApiModule);
  app.use(methodNotAllowed(document));
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/json' });
  return app;
}
