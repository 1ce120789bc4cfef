import { Inject, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Client, Connection } from '@temporalio/client';
import { AppEnvironment } from '@concentra/config';
import { connectionOptions } from './connection-options';
import { clientTracingInterceptors } from './tracing';

/** A Temporal client for the API and the CLI, closed with the application. */
@Module({
  providers: [
    {
      provide: Connection,
      inject: [AppEnvironment],
      useFactory: (env: AppEnvironment) => Connection.connect(connectionOptions(env)),
    },
    {
      provide: Client,
      inject: [Connection, AppEnvironment],
      useFactory: (connection: Connection, env: AppEnvironment) =>
        new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, interceptors: clientTracingInterceptors() }),
    },
  ],
  exports: [Client, Connection],
})
export class TemporalClientModule implements OnApplicationShutdown {
  constructor(@Inject(Connection) private readonly connection: Connection) {}

  async onApplicationShutdown(): Promise<void> {
    await this.connection.close();
  }
}
