/**
 * A seeded lottery. Ties that no policy rule separates are settled by a draw anyone can repeat:
 * the seed is recorded with the decision, and SHA-256 of "seed:counter" is the only source of chance.
 */
import { sha256 } from '@noble/hashes/sha256';
import { utf8ToBytes } from '@noble/hashes/utils';

export interface Prng {
  /** A uniform integer in [0, n). */
  nextInt(n: number): number;
}

export function createPrng(seed: string): Prng {
  let counter = 0;
  const nextUint32 = (): number => {
    const h = sha256(utf8ToBytes(`${seed}:${counter++}`));
    return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
  };
  return {
    nextInt(n: number): number {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError('nextInt needs a positive integer');
      // Rejection sampling: a plain modulo would favour small values.
      const limit = Math.floor(0x1_0000_0000 / n) * n;
      for (;;) {
        const x = nextUint32();
        if (x < limit) return x % n;
      }
    },
  };
}

/**
 * The order in which the tied candidates are drawn, first drawn ranks highest. Input order does not
 * matter: ids are sorted first so the same seed and the same tie always give the same draw.
 */
export function drawOrder(prng: Prng, ids: readonly string[]): string[] {
  const items = [...ids].sort();
  for (let i = items.length - 1; i > 0; i--) {
    const j = prng.nextInt(i + 1);
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items.reverse();
}
