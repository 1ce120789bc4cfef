import { canonicalJson, hashOf, sha256Hex } from './canonical';
import { addDays, addDuration, parseIsoDuration, resolveDue } from './time';

describe('ISO durations on ISO instants', () => {
  it('adds calendar months with day clamping and exact days and times', () => {
    expect(addDuration('2027-01-31T10:00:00Z', 'P1M')).toBe('2027-02-28T10:00:00.000Z');
    expect(addDuration('2028-01-31T10:00:00Z', 'P1M')).toBe('2028-02-29T10:00:00.000Z');
    expect(addDuration('2027-01-04T09:00:00Z', 'P6M')).toBe('2027-07-04T09:00:00.000Z');
    expect(addDuration('2027-01-04T09:00:00Z', 'P1Y2M3DT4H5M6.5S')).toBe('2028-03-07T13:05:06.500Z');
    expect(addDuration('2027-01-04T09:00:00+02:00', 'PT30S')).toBe('2027-01-04T07:00:30.000Z');
    expect(addDuration('2027-03-10T00:00:00Z', 'P1W', -1)).toBe('2027-03-03T00:00:00.000Z');
    expect(addDuration('2027-03-31T00:00:00Z', 'P1M', -1)).toBe('2027-02-28T00:00:00.000Z');
  });

  it('resolves policy dates given as days, durations or fixed instants', () => {
    expect(resolveDue(30, '2027-01-01T00:00:00Z')).toBe('2027-01-31T00:00:00.000Z');
    expect(resolveDue('P30D', '2027-01-01T00:00:00Z')).toBe('2027-01-31T00:00:00.000Z');
    expect(resolveDue('2027-06-30T12:00:00Z', '2027-01-01T00:00:00Z')).toBe('2027-06-30T12:00:00.000Z');
    expect(addDays('2027-01-01T00:00:00Z', 0.5)).toBe('2027-01-01T12:00:00.000Z');
  });

  it('refuses what is not a duration', () => {
    expect(() => parseIsoDuration('P')).toThrow();
    expect(() => parseIsoDuration('30D')).toThrow();
    expect(() => parseIsoDuration('PT')).toThrow();
  });
});

describe('canonical JSON', () => {
  it('sorts keys at every level, drops undefined and is stable', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: -0 })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":0}');
    expect(hashOf({ x: 1, y: 2 })).toBe(hashOf({ y: 2, x: 1 }));
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
