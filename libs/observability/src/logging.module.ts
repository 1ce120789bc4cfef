import type { DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { Logger } from 'pino';
import { httpLoggingOptions } from './logging';

/**
 * nestjs-pino on the process's root logger: Nest's own messages, every `Logger` in the code and
 * (in the API) one record per request, all as JSON lines through the same pino instance.
 */
export function loggingModule(logger: Logger): DynamicModule {
  return LoggerModule.forRoot({ pinoHttp: httpLoggingOptions(logger) });
}
