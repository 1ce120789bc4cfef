import { Injectable, Module, type OnApplicationShutdown } from '@nestjs/common';
import { activeTracing } from './tracing';

/** Sends the spans still buffered when the process shuts down (nothing when tracing is off). */
@Injectable()
class TracingShutdown implements OnApplicationShutdown {
  async onApplicationShutdown(): Promise<void> {
    await activeTracing()?.stop();
  }
}

@Module({ providers: [TracingShutdown] })
export class TracingModule {}
