import type {
  ChangeGrantInput,
  ChangeGrantResult,
  GpuActivities,
  GpuAllocationView,
  MeterUsageInput,
  MeterUsageResult,
  ProvisionGrantInput,
  ProvisionGrantResult,
  ReleaseGrantInput,
  ReleaseGrantResult,
} from './gpu.activities';
import type { GpuLedger } from './gpu-ledger';

/**
 * The activity provider the worker binds with `activitiesOf(...)`: every method on this prototype
 * is an activity, so it holds nothing but the activities and delegates to the ledger.
 */
export class GpuProvisioningActivities implements GpuActivities {
  constructor(private readonly ledger: GpuLedger) {}

  provisionGrant(input: ProvisionGrantInput): Promise<ProvisionGrantResult> {
    return this.ledger.provision(input);
  }

  changeGrant(input: ChangeGrantInput): Promise<ChangeGrantResult> {
    return this.ledger.change(input);
  }

  releaseGrant(input: ReleaseGrantInput): Promise<ReleaseGrantResult> {
    return this.ledger.release(input);
  }

  meterUsage(input: MeterUsageInput): Promise<MeterUsageResult> {
    return this.ledger.meter(input);
  }

  describeGrant(input: { grantId: string }): Promise<GpuAllocationView | null> {
    return this.ledger.describe(input.grantId);
  }
}
