import { Global, Module } from '@nestjs/common';
import { loadEnvironment, type Environment } from './environment';

/* eslint-disable @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type --
   a class token typed as the environment: injectable without a string token. */
/** The validated environment as an injectable class token (no string tokens). */
export abstract class AppEnvironment {}
export interface AppEnvironment extends Environment {}
/* eslint-enable @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type */

@Global()
@Module({
  providers: [{ provide: AppEnvironment, useFactory: () => loadEnvironment() }],
  exports: [AppEnvironment],
})
export class ConfigModule {}

export const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/concentra';

export function databaseUrl(env: Environment): string {
  return env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
}
