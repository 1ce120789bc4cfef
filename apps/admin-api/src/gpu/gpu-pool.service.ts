import { Inject, Injectable } from '@nestjs/common';
import { GpuLedger, GpuPoolReads, type CapacityView, type PoolQuery, type PoolView, type StoredPolicy } from '@concentra/gpu';
import type { Principal } from '@concentra/auth';
import type { PutPoolPolicy, RegisterCapacity } from './gpu.schemas';

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

  policy(): Promise<StoredPolicy & { history: Omit<StoredPolicy, 'policy'>[] }> {
    return this.ledger.policyWithHistory();
  }

  setPolicy(body: PutPoolPolicy, actor: Principal): Promise<StoredPolicy & { changed: boolean }> {
    const { basedOnVersion, ...document } = body;
    return this.ledger.setPolicy(document, { role: actor.role, subject: actor.sub }, { basedOnVersion });
  }
}
