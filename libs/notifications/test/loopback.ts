/**
 * Test receivers on loopback: a webhook endpoint that verifies every request with the Standard
 * Webhooks verifier, and a cycle's events recorded through the real event store and projections.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { DataSource } from 'typeorm';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import type { CycleEvent } from '@concentra/domain';

export interface ReceivedHook {
  id: string;
  verified: boolean;
  payload: unknown;
}

export interface WebhookReceiver {
  url: string;
  /** Status answered while the endpoint is "down" (null: up, answers 204 to a verified request). */
  downWith: number | null;
  received: ReceivedHook[];
  /** Every request that reached the server, verified or not, in order. */
  requests: number;
  close(): Promise<void>;
}

/** `beforeAnswer`: called with each verified message before the receiver answers (the crash test kills the sender there). */
export async function startWebhookReceiver(secret: string, beforeAnswer?: (hook: ReceivedHook) => Promise<void>): Promise<WebhookReceiver> {
  const verifier = new Webhook(secret);
  const receiver: WebhookReceiver = { url: '', downWith: null, received: [], requests: 0, close: async () => undefined };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      receiver.requests += 1;
      if (receiver.downWith !== null) {
        res.writeHead(receiver.downWith).end();
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      try {
        const payload = verifier.verify(body, headers);
        const hook = { id: headers['webhook-id'], verified: true, payload };
        receiver.received.push(hook);
        void (beforeAnswer?.(hook) ?? Promise.resolve()).then(() => res.writeHead(204).end());
      } catch {
        receiver.received.push({ id: headers['webhook-id'], verified: false, payload: null });
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}

/** Appends a cycle's events as the workflow's record activity does (ids: stream + sequence). */
export async function recordCycle(db: DataSource, cycleId: string, events: CycleEvent[], at: string): Promise<void> {
  const store = new EventStore(db, PROJECTIONS);
  await store.append(
    cycleId,
    events.map((e, i) => ({ eventId: `${cycleId}#${i + 1}`, type: e.type, data: e.data as unknown as Record<string, unknown>, metadata: { workflowId: cycleId }, occurredAt: at })),
  );
}

/** A clock the test moves. */
export class TestClock {
  constructor(public t: number) {}
  now = (): Date => new Date(this.t);
}
