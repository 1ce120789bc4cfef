import { alternativesFor, crossedThresholds, requestProblem, strongestAction, type GpuPoolPolicy } from './policy';
import { effectiveGpus } from './providers/gpu-provider';

const policy: GpuPoolPolicy = {
  rates: { H100: 1, H200: 1.5, B200: 2 },
  lessorConflict: 'exclude_while_in_use',
  reallocation: 'to_pool',
  thresholds: [
    { atFraction: 0.8, action: 'warn' },
    { atFraction: 1, action: 'suspend' },
  ],
  throttle: { gpuFraction: 0.5 },
};

describe('GPU pool policy', () => {
  it('turns "512 B200 or 1,024 H100" into ordered alternatives with their rates', () => {
    expect(alternativesFor({ alternatives: [{ type: 'b200', count: 512 }, { type: 'H100', count: 1024 }] }, policy)).toEqual([
      { type: 'B200', count: 512, rate: 1 },
      { type: 'H100', count: 1024, rate: 0.5 },
    ]);
  });

  it('serves an equivalent-rate request in every accepted type, rounding up', () => {
    expect(alternativesFor({ equivalentTo: { type: 'B200', count: 512 } }, policy)).toEqual([
      { type: 'B200', count: 512, rate: 1 },
      { type: 'H100', count: 1024, rate: 0.5 },
      { type: 'H200', count: 683, rate: 0.75 },
    ]);
    expect(alternativesFor({ equivalentTo: { type: 'B200', count: 3 }, acceptTypes: ['h100'] }, policy)).toEqual([
      { type: 'B200', count: 3, rate: 1 },
      { type: 'H100', count: 6, rate: 0.5 },
    ]);
    // A type without a rate is served only as itself.
    expect(alternativesFor({ equivalentTo: { type: 'MI300', count: 8 } }, policy)).toEqual([{ type: 'MI300', count: 8, rate: 1 }]);
  });

  it('says what is wrong with a request', () => {
    expect(requestProblem({ alternatives: [] })).toMatch(/alternatives/);
    expect(requestProblem({ alternatives: [{ type: 'H100', count: 1.5 }] })).toMatch(/positive integer/);
    expect(requestProblem({ equivalentTo: { type: '', count: 1 } })).toMatch(/GPU type/);
    expect(requestProblem({ equivalentTo: { type: 'H100', count: 1 } })).toBeUndefined();
  });

  it('finds the thresholds crossed and the strongest action', () => {
    expect(crossedThresholds(null, policy.thresholds)).toEqual([]);
    expect(crossedThresholds(0.79, policy.thresholds)).toEqual([]);
    expect(crossedThresholds(0.8, policy.thresholds)).toEqual([{ atFraction: 0.8, action: 'warn' }]);
    expect(strongestAction(crossedThresholds(1.2, policy.thresholds))).toBe('suspend');
    expect(strongestAction([])).toBe('none');
  });

  it('throttles to a fraction of the GPUs and suspends to none', () => {
    const spec = { gpus: 7, throttle: { gpuFraction: 0.5 } };
    expect(effectiveGpus({ ...spec, mode: 'normal' })).toBe(7);
    expect(effectiveGpus({ ...spec, mode: 'throttled' })).toBe(4);
    expect(effectiveGpus({ ...spec, mode: 'suspended' })).toBe(0);
  });
});
