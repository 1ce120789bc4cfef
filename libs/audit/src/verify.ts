import type { DataSource } from 'typeorm';
import { EventStore, eventHash, type StoredEvent } from '@concentra/persistence';

export type LinkProblem = 'hash_mismatch' | 'prev_hash_mismatch' | 'position_gap';

/** Where a chain breaks: the stream, the position, and what the chain expected against what is stored. */
export interface BrokenLink {
  streamId: string;
  position: number;
  eventId: string;
  globalPosition: number;
  problem: LinkProblem;
  expected: string | number | null;
  actual: string | number | null;
}

export interface ChainReport {
  ok: boolean;
  streams: number;
  events: number;
  /** The earliest break (by global position), or null when every chain holds. */
  firstBroken: BrokenLink | null;
  /** The first break of each broken stream. */
  broken: BrokenLink[];
}

/**
 * Walks the chains one event at a time, in any order that keeps each stream's events in stream
 * order (global order does). Memory is one link per stream.
 */
export class ChainVerifier {
  private readonly heads = new Map<string, { position: number; hash: string }>();
  private readonly brokenStreams = new Map<string, BrokenLink>();
  private count = 0;

  push(event: StoredEvent): void {
    this.count += 1;
    const head = this.heads.get(event.streamId);
    const expectedPosition = (head?.position ?? 0) + 1;
    const expectedPrev = head?.hash ?? null;
    if (event.streamPosition !== expectedPosition) {
      this.breakAt(event, 'position_gap', expectedPosition, event.streamPosition);
    } else if ((event.prevHash?.trim() ?? null) !== expectedPrev) {
      this.breakAt(event, 'prev_hash_mismatch', expectedPrev, event.prevHash?.trim() ?? null);
    } else {
      const recomputed = eventHash(event);
      if (recomputed !== event.hash.trim()) this.breakAt(event, 'hash_mismatch', recomputed, event.hash.trim());
    }
    // Carry on from what is stored, so one altered event is reported once, not once per successor.
    this.heads.set(event.streamId, { position: event.streamPosition, hash: event.hash.trim() });
  }

  report(): ChainReport {
    const broken = [...this.brokenStreams.values()].sort((a, b) => a.globalPosition - b.globalPosition);
    return { ok: broken.length === 0, streams: this.heads.size, events: this.count, firstBroken: broken[0] ?? null, broken };
  }

  private breakAt(event: StoredEvent, problem: LinkProblem, expected: BrokenLink['expected'], actual: BrokenLink['actual']): void {
    if (this.brokenStreams.has(event.streamId)) return;
    this.brokenStreams.set(event.streamId, {
      streamId: event.streamId,
      position: event.streamPosition,
      eventId: event.eventId,
      globalPosition: event.globalPosition,
      problem,
      expected,
      actual,
    });
  }
}

/** Verifies events already in hand (a bundle): every stream must be complete from position 1. */
export function verifyEventChains(events: Iterable<StoredEvent>): ChainReport {
  const verifier = new ChainVerifier();
  const ordered = [...events].sort((a, b) => (a.streamId === b.streamId ? a.streamPosition - b.streamPosition : a.streamId < b.streamId ? -1 : 1));
  for (const event of ordered) verifier.push(event);
  return verifier.report();
}

/** Recomputes every hash of every stream in the database, in pages, and reports the first broken link. */
export async function verifyChains(db: DataSource, options: { onProgress?: (events: number) => void } = {}): Promise<ChainReport> {
  const verifier = new ChainVerifier();
  let n = 0;
  for await (const event of new EventStore(db).readAll(1000)) {
    verifier.push(event);
    if (++n % 1000 === 0) options.onProgress?.(n);
  }
  options.onProgress?.(n);
  return verifier.report();
}

export function describeBrokenLink(link: BrokenLink): string {
  const what: Record<LinkProblem, string> = {
    hash_mismatch: 'the stored hash does not match the event as stored (the event was changed after it was written)',
    prev_hash_mismatch: 'the link to the previous event does not match its hash (an earlier event was changed or replaced)',
    position_gap: 'a position is missing or repeated (an event was removed or inserted)',
  };
  return `${link.streamId} at position ${link.position} (${link.eventId}): ${what[link.problem]}; expected ${String(link.expected)}, found ${String(link.actual)}`;
}
