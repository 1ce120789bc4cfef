import { ThrottlerStorageService } from '@nestjs/throttler';
import { ThrottleCounts } from './throttle-storage';

/**
 * The rate limits' storage gives @nestjs/throttler's own in-memory storage's answers, request for
 * request, on seeded random traffic: several keys, limits, windows and block durations (none, and
 * the window itself as the API uses), the clock moving by small and large steps.
 */
describe('ThrottleCounts', () => {
  beforeEach(() => jest.useFakeTimers({ now: Date.parse('2027-03-01T09:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  function rng(seed: number) {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  it.each([1, 2, 3, 4, 5, 6])('answers as the library does on seeded traffic (seed %i)', async (seed) => {
    const random = rng(seed);
    const ours = new ThrottleCounts();
    const library = new ThrottlerStorageService();
    const shapes = [
      { ttl: 1_000, limit: 3, block: 1_000 },
      { ttl: 5_000, limit: 10, block: 0 },
      { ttl: 2_000, limit: 1, block: 7_000 },
      { ttl: 60_000, limit: 40, block: 60_000 },
    ];
    let blocked = 0;
    for (let i = 0; i < 4_000; i++) {
      const k = Math.floor(random() * 6);
      const shape = shapes[k % shapes.length];
      const key = `key-${k}`;
      const args = [key, shape.ttl, shape.limit, shape.block, `throttler-${k % 2}`] as const;
      const expected = await library.increment(...args);
      expect(await ours.increment(...args)).toEqual(expected);
      if (expected.isBlocked) blocked += 1;
      const step = random();
      jest.advanceTimersByTime(step < 0.7 ? Math.floor(random() * 40) : step < 0.95 ? Math.floor(random() * 1_500) : Math.floor(random() * 70_000));
    }
    expect(blocked).toBeGreaterThan(0); // the traffic did reach the limits
    ours.onApplicationShutdown();
    library.onApplicationShutdown();
  });

  it('answers as the library does under a limit never reached, through thousands of hits (its queue compacted on the way)', async () => {
    const random = rng(7);
    const ours = new ThrottleCounts();
    const library = new ThrottlerStorageService();
    for (let i = 0; i < 6_000; i++) {
      const args = ['busy', 300, 1_000_000, 300, 'principal'] as const;
      expect(await ours.increment(...args)).toEqual(await library.increment(...args));
      jest.advanceTimersByTime(Math.floor(random() * 4));
    }
    ours.onApplicationShutdown();
    library.onApplicationShutdown();
  });

  it('forgets a key once nothing of it counts any more, and keeps it while a hit or a block does', async () => {
    const counts = new ThrottleCounts();
    await counts.increment('a', 1_000, 1, 5_000, 'address');
    await counts.increment('a', 1_000, 1, 5_000, 'address'); // over the limit: blocked for 5 s
    jest.advanceTimersByTime(2_000);
    counts.evictIdle();
    expect((await counts.increment('a', 1_000, 1, 5_000, 'address')).isBlocked).toBe(true);
    jest.advanceTimersByTime(10_000);
    counts.evictIdle();
    expect(await counts.increment('a', 1_000, 1, 5_000, 'address')).toMatchObject({ totalHits: 1, isBlocked: false });
    counts.onApplicationShutdown();
  });
});
