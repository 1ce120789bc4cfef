import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';

const { temporal } = proto;

/**
 * ProtoJSON from the protobufjs copy that @temporalio/proto's types belong to. SDK 1.24 installs
 * several copies of protobufjs, and its own historyToJSON / historyFromJSON pick another copy's
 * protojson, whose `instanceof Type` check then fails ("type must be a Type").
 */
const protojson = require(require.resolve('protobufjs/ext/protojson', { paths: [dirname(require.resolve('@temporalio/proto/package.json'))] })) as {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
};
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType('temporal.api.history.v1.History');

export type { History };
export const EventType = temporal.api.enums.v1.EventType;
export type HistoryEvent = proto.temporal.api.history.v1.IHistoryEvent;

/** The Temporal SDK version the histories are recorded and replayed with. */
export function temporalSdkVersion(): string {
  const pkg = JSON.parse(readFileSync(require.resolve('@temporalio/worker/package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** History as plain JSON (the same norm as `temporal workflow show --output json`), for bundles and fixtures. */
export function historyToPlain(history: History): unknown {
  return protojson.toJson(historyType, temporal.api.history.v1.History.fromObject(history as Record<string, unknown>));
}

/** Reads a JSON history (ours, or `temporal workflow show --output json`, old PascalCase enums too). */
export function historyFromPlain(json: unknown): History {
  const h = json as { events?: Record<string, unknown>[] };
  if (!h || !Array.isArray(h.events)) throw new TypeError('not a workflow history: expected an object with an array of events');
  if (typeof h.events[0]?.eventType === 'number') return h as History; // already a proto object
  const fixed = { events: h.events.map(fixEnums) };
  return protojson.fromJson(historyType, fixed, { ignoreUnknownFields: true }) as History;
}

const ENUM_PREFIXES: Record<string, string> = {
  kind: 'TASK_QUEUE_KIND',
  parentClosePolicy: 'PARENT_CLOSE_POLICY',
  workflowIdReusePolicy: 'WORKFLOW_ID_REUSE_POLICY',
  initiator: 'CONTINUE_AS_NEW_INITIATOR',
  retryState: 'RETRY_STATE',
};

function constantCase(value: string, prefix: string): string {
  return value.startsWith(prefix) ? value : `${prefix}_${value.replace(/(?!^)([A-Z])/g, '_$1').toUpperCase()}`;
}

/** Older tools wrote enums in PascalCase ("WorkflowExecutionStarted"); protojson wants the constant names. */
function fixEnums(event: Record<string, unknown>): Record<string, unknown> {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (!value || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' && ENUM_PREFIXES[k] ? constantCase(v, ENUM_PREFIXES[k]) : walk(v)]),
    );
  };
  const fixed = walk(event) as Record<string, unknown>;
  if (typeof fixed.eventType === 'string') fixed.eventType = constantCase(fixed.eventType, 'EVENT_TYPE');
  return fixed;
}

export function eventTypeName(event: HistoryEvent): string {
  const name = EventType[event.eventType ?? 0] ?? String(event.eventType);
  return name.replace(/^EVENT_TYPE_/, '');
}

export function eventNumber(event: HistoryEvent): number {
  return Number(event.eventId ?? 0);
}

/** Decodes a payload written with the default data converter (JSON). */
export function decodePayload(payload: proto.temporal.api.common.v1.IPayload | null | undefined): unknown {
  if (!payload) return undefined;
  return defaultPayloadConverter.fromPayload(payload);
}

/** The workflow type a history started, from its first event. */
export function workflowTypeOf(history: History): string | null {
  const first = history.events?.[0];
  return first?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? null;
}
