import { Inject, Injectable } from '@nestjs/common';
import { GpuLedger, GpuPoolReads, type CapacityView, type PoolQuery, type PoolView } from '@concentra/gpu';
import type { Principal } from '../auth/tokens';
import type { RegisterCapacity } from './gpu.schemas';

@Injectable()
export class GpuPoolService {
  constructor(
    @Inject(GpuPoolReads) private readonly reads: GpuPoolReads,
    @Inject(GpuLedger) private readonly ledger: GpuLedger,
  ) {}

  pool(query: PoolQuery): Promise<PoolView> {
    return this.reads.pool(query);
  }

  registerCapacity(body: RegisterCapacity, actor: Principal): Promise<CapacityView> {
    return this.ledger.registerCapacity(body, { role: actor.role, subject: actor.sub });
  }
}
