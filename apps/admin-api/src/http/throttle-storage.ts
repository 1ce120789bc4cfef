import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

/** What `increment` answers (ThrottlerStorageRecord of @nestjs/throttler). */
interface Answer {
  totalHits: number;
  timeToExpire: number;
  isBlocked: boolean;
  timeToBlockExpire: number;
}

/** One key's hits: their expiry instants in the order they were made, read from `head` on. */
interface Counter {
  expiries: number[];
  head: number;
  expiresAt: number;
  blockExpiresAt: number;
  isBlocked: boolean;
}

const SWEEP_MS = 60_000;

/**
 * The rate limits' counts, with the very rules of @nestjs/throttler's in-memory storage (a hit
 * counts for `ttl` after it is made; the hit over the limit blocks the key for `blockDuration`;
 * when the block has passed the count starts again from that hit), at a constant cost per request.
 * The library's storage filters and copies every live hit of the key on each request: with a
 * high limit and steady traffic that is tens of thousands of numbers per request, twice (address
 * and principal), and the latency grows with the load it is meant to bound. Here the expiries
 * form a queue (each hit expires `ttl` after it is made, so they arrive in order) and expired ones
 * are dropped from its front. `throttle-storage.spec.ts` holds both to the same answers.
 */
@Injectable()
export class ThrottleCounts implements ThrottlerStorage, OnApplicationShutdown {
  private readonly counters = new Map<string, Counter>();
  private sweep: NodeJS.Timeout | undefined;

  // The key includes the throttler's name (the guard's generateKey), so one counter per key.
  increment(key: string, ttl: number, limit: number, blockDuration: number, _throttlerName: string, now = Date.now()): Promise<Answer> {
    this.sweep ??= setInterval(() => this.evictIdle(), SWEEP_MS).unref();
    let c = this.counters.get(key);
    if (!c) {
      c = { expiries: [], head: 0, expiresAt: now + ttl, blockExpiresAt: 0, isBlocked: false };
      this.counters.set(key, c);
    }
    prune(c, now);
    let timeToExpire = Math.ceil((c.expiresAt - now) / 1000);
    if (timeToExpire <= 0) {
      c.expiresAt = now + ttl;
      timeToExpire = Math.ceil((c.expiresAt - now) / 1000);
    }
    if (blockDuration <= 0) {
      const isBlocked = live(c) >= limit;
      if (!isBlocked) c.expiries.push(now + ttl);
      const timeToBlockExpire = live(c) > 0 ? Math.ceil((c.expiries[c.head] - now) / 1000) : timeToExpire;
      return Promise.resolve({ totalHits: live(c) + (isBlocked ? 1 : 0), timeToExpire, isBlocked, timeToBlockExpire: isBlocked ? timeToBlockExpire : 0 });
    }
    if (!c.isBlocked) c.expiries.push(now + ttl);
    if (live(c) > limit && !c.isBlocked) {
      c.isBlocked = true;
      c.blockExpiresAt = now + blockDuration;
    }
    const timeToBlockExpire = Math.ceil((c.blockExpiresAt - now) / 1000);
    if (timeToBlockExpire <= 0 && c.isBlocked) {
      c.isBlocked = false;
      c.expiries = [now + ttl];
      c.head = 0;
    }
    return Promise.resolve({ totalHits: live(c), timeToExpire, isBlocked: c.isBlocked, timeToBlockExpire });
  }

  /** Forgets keys with nothing left to count (as the library's sweep does). */
  evictIdle(now = Date.now()): void {
    for (const [key, c] of this.counters) {
      if ((c.isBlocked && c.blockExpiresAt > now) || c.expiresAt > now) continue;
      prune(c, now);
      if (live(c) === 0) this.counters.delete(key);
    }
  }

  onApplicationShutdown(): void {
    if (this.sweep) clearInterval(this.sweep);
    this.counters.clear();
  }
}

function live(c: Counter): number {
  return c.expiries.length - c.head;
}

/** Drops the expired hits from the front; compacts the queue once most of it is spent. */
function prune(c: Counter, now: number): void {
  while (c.head < c.expiries.length && c.expiries[c.head] <= now) c.head += 1;
  if (c.head > 1024 && c.head * 2 > c.expiries.length) {
    c.expiries = c.expiries.slice(c.head);
    c.head = 0;
  }
}
