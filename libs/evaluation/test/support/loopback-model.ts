/**
 * Teams' models as real HTTP servers on loopback speaking the chat-completions protocol, with
 * behaviour designed to be known in advance: a model that answers a set share of the suite right,
 * one that hangs on the first ask of every item, one that answers malformed JSON, a slow one. The
 * server counts what arrives and what it answered, per item, so tests count on the wire.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promptOf, type BenchmarkItem, type BenchmarkSuite } from '@concentra/domain';

export type Behaviour =
  /** Right on a share `p` of items (chosen by hashing the model's name and the item: a Bernoulli(p) model). */
  | { kind: 'accuracy'; p: number }
  /** The first ask of each item never answers (the client times out); every later ask answers right. */
  | { kind: 'hang_first_ask' }
  /** 200 with a body that is not JSON. */
  | { kind: 'malformed' }
  /** Answers right after `delayMs`. */
  | { kind: 'slow'; delayMs: number };

export interface LoopbackModel {
  /** The base URL to submit (`http://127.0.0.1:<port>/v1`). */
  baseUrl: string;
  /** Requests that arrived, per item id (a request for an unknown prompt counts under "?"). */
  arrived: Map<string, number>;
  /** Requests answered to the end, per item id. */
  answered: Map<string, number>;
  maxInFlight: number;
  /** Whether the model's answer to an item is designed to be right (for the accuracy behaviour). */
  designedRight(item: BenchmarkItem): boolean;
  close(): Promise<void>;
}

export interface LoopbackOptions {
  name: string;
  suite: BenchmarkSuite;
  behaviour: Behaviour;
  /** Bearer token the server requires; absent = none. */
  token?: string;
  /** Called when a request for an item arrives, before anything is answered; awaited. */
  onArrival?(itemId: string, arrivalsOfItem: number, totalArrivals: number): Promise<void> | void;
}

function rightAnswer(item: BenchmarkItem): string {
  return item.kind === 'numeric_tolerance' ? String(item.expected) : item.expected;
}

function wrongAnswer(item: BenchmarkItem): string {
  if (item.kind === 'multiple_choice') return item.expected === 'A' ? 'B' : 'A';
  if (item.kind === 'numeric_tolerance') return String(item.expected + 1000);
  return 'I do not know';
}

export async function startLoopbackModel(options: LoopbackOptions): Promise<LoopbackModel> {
  const byPrompt = new Map(options.suite.items.map((i) => [promptOf(i), i]));
  const arrived = new Map<string, number>();
  const answered = new Map<string, number>();
  const open = new Set<ServerResponse>();
  let inFlight = 0;
  let total = 0;
  const designedRight = (item: BenchmarkItem) => {
    if (options.behaviour.kind !== 'accuracy') return true;
    const h = createHash('sha256').update(`${options.name}:${item.id}`).digest();
    return h.readUInt32BE(0) / 0x1_0000_0000 < options.behaviour.p;
  };
  const model: LoopbackModel = {
    baseUrl: '',
    arrived,
    answered,
    maxInFlight: 0,
    designedRight,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of open) res.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const reply = (res: ServerResponse, itemId: string, status: number, body: string) => {
    res.once('finish', () => answered.set(itemId, (answered.get(itemId) ?? 0) + 1));
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  };
  const completion = (content: string) =>
    JSON.stringify({ id: 'cmpl-loopback', object: 'chat.completion', created: 0, model: options.name, choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return void res.writeHead(404).end();
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":{"message":"bad key"}}');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages: Array<{ content: string }> };
    const item = byPrompt.get(body.messages[0]?.content ?? '');
    const itemId = item?.id ?? '?';
    const n = (arrived.get(itemId) ?? 0) + 1;
    arrived.set(itemId, n);
    total += 1;
    await options.onArrival?.(itemId, n, total);
    if (!item) return reply(res, itemId, 400, '{"error":{"message":"unknown prompt"}}');
    const b = options.behaviour;
    switch (b.kind) {
      case 'accuracy':
        return reply(res, itemId, 200, completion(designedRight(item) ? rightAnswer(item) : wrongAnswer(item)));
      case 'hang_first_ask':
        if (n === 1) return; // never answered: the client's timeout ends it
        return reply(res, itemId, 200, completion(rightAnswer(item)));
      case 'malformed':
        return reply(res, itemId, 200, '{"choices": [ {"message": ');
      case 'slow':
        await new Promise((r) => setTimeout(r, b.delayMs));
        return reply(res, itemId, 200, completion(rightAnswer(item)));
    }
  };

  const server = createServer((req, res) => {
    open.add(res);
    inFlight += 1;
    model.maxInFlight = Math.max(model.maxInFlight, inFlight);
    const done = () => {
      if (open.delete(res)) inFlight -= 1;
    };
    res.once('close', done);
    handle(req, res).catch((error: Error) => {
      if (!res.headersSent) res.writeHead(500).end(JSON.stringify({ error: { message: error.message } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  model.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  return model;
}
