import { Module } from '@nestjs/common';
import { GpuModule } from '@concentra/gpu';
import { GpuPoolController } from './gpu-pool.controller';
import { GpuPoolService } from './gpu-pool.service';

/** The GPU pool over HTTP: its state for managers and auditors, capacity registration for managers. */
@Module({
  imports: [GpuModule],
  controllers: [GpuPoolController],
  providers: [GpuPoolService],
})
export class GpuApiModule {}
