/**
 * At most N requests in flight per team endpoint in this worker process, whichever runs ask it: a
 * team's server must not be flooded (a retried run and its predecessor, or two rounds, share it).
 */
export class EndpointLimiter {
  private readonly slots = new Map<string, { inFlight: number; waiting: Array<() => void> }>();

  async run<T>(endpoint: string, limit: number, task: () => Promise<T>): Promise<T> {
    const slot = this.slots.get(endpoint) ?? { inFlight: 0, waiting: [] };
    this.slots.set(endpoint, slot);
    while (slot.inFlight >= limit) await new Promise<void>((resolve) => slot.waiting.push(resolve));
    slot.inFlight += 1;
    try {
      return await task();
    } finally {
      slot.inFlight -= 1;
      slot.waiting.shift()?.();
      if (slot.inFlight === 0 && slot.waiting.length === 0) this.slots.delete(endpoint);
    }
  }
}

/** One per process: activities of every run share it. */
export const endpointLimiter = new EndpointLimiter();
