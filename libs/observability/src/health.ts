import { type HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import type { DependencyProbe } from './dependency-probe';


/** A terminus indicator on a probe: `up`, or `down` with the probe's reason. */
export async function indicator(health: HealthIndicatorService, probe: DependencyProbe): Promise<HealthIndicatorResult> {
  const session = health.check(probe.name);
  const result = await probe.check();
  return result.up ? session.up() : session.down({ reason: result.error ?? 'down' });
}
