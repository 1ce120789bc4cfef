import type { Client } from '@temporalio/client';
import type { DataSource } from 'typeorm';
import { EventStore, type StoredEvent } from '@concentra/persistence';
import { BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, sealBundle, type BundledPolicy, type BundledWorkflow, type CycleBundle } from './bundle';
import { historyToPlain, temporalSdkVersion, workflowTypeOf } from './history';

export interface ExportProgress {
  phase: 'events' | 'policies' | 'workflows' | 'done';
  done: number;
  total: number;
  label?: string;
}

export interface ExportOptions {
  db: DataSource;
  client: Client;
  cycleId: string;
  exportedBy?: string;
  onProgress?: (progress: ExportProgress) => void;
}

/** `cycle:<program>:<year>` → `grant:<program>:<year>:`, the prefix of its grants' workflow and stream ids. */
export function grantPrefixOf(cycleId: string): string {
  const match = /^cycle:(.+)$/.exec(cycleId);
  if (!match) throw new Error(`'${cycleId}' is not a cycle id (cycle:<program>:<year>)`);
  return `grant:${match[1]}:`;
}

/**
 * One bundle per cycle: the Temporal histories of the cycle and its grants (every run), the domain
 * events of their streams, the policy versions they ran on, and a manifest of SHA-256 hashes.
 */
export async function exportCycleBundle(options: ExportOptions): Promise<CycleBundle> {
  const { db, client, cycleId } = options;
  const progress = options.onProgress ?? (() => undefined);
  const store = new EventStore(db);
  const prefix = grantPrefixOf(cycleId);

  progress({ phase: 'events', done: 0, total: 1 });
  const cycleEvents = await store.readStream(cycleId);
  const grantEvents = await store.readStreamsWithPrefix(prefix);
  const events = [...cycleEvents, ...grantEvents].sort((a, b) => a.globalPosition - b.globalPosition);
  progress({ phase: 'events', done: 1, total: 1, label: `${events.length} events` });

  const policies = await policiesOf(db, events);
  progress({ phase: 'policies', done: policies.length, total: policies.length });

  const executions = await executionsOf(client, cycleId, prefix, events);
  if (executions.length === 0 && events.length === 0) throw new Error(`nothing is known about '${cycleId}': no events and no workflow`);
  const workflows: BundledWorkflow[] = [];
  for (const [i, exec] of executions.entries()) {
    progress({ phase: 'workflows', done: i, total: executions.length, label: exec.workflowId });
    const history = await client.workflow.getHandle(exec.workflowId, exec.runId).fetchHistory();
    workflows.push({ workflowId: exec.workflowId, runId: exec.runId, workflowType: workflowTypeOf(history), history: historyToPlain(history) });
  }
  progress({ phase: 'workflows', done: executions.length, total: executions.length });

  const bundle = sealBundle({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    cycleId,
    exportedAt: new Date().toISOString(),
    exportedBy: options.exportedBy ?? null,
    temporal: { namespace: client.options.namespace, sdkVersion: temporalSdkVersion() },
    workflows,
    events,
    policies,
  });
  progress({ phase: 'done', done: 1, total: 1 });
  return bundle;
}

async function policiesOf(db: DataSource, events: StoredEvent[]): Promise<BundledPolicy[]> {
  const hashes = new Set<string>();
  for (const e of events) {
    if (typeof e.metadata.policyHash === 'string') hashes.add(e.metadata.policyHash);
    const h = (e.data as { policyHash?: unknown }).policyHash;
    if (typeof h === 'string') hashes.add(h);
  }
  if (hashes.size === 0) return [];
  const rows = (await db.query('SELECT hash, document FROM policy_versions WHERE hash = ANY($1) ORDER BY hash', [[...hashes]])) as { hash: string; document: unknown }[];
  const found = new Map(rows.map((r) => [r.hash.trim(), r.document]));
  // A policy the projection lost is still in the events that adopted it (CallOpened carries it whole).
  for (const e of events) {
    const d = e.data as { policy?: unknown; policyHash?: unknown };
    if (typeof d.policyHash === 'string' && d.policy && !found.has(d.policyHash)) found.set(d.policyHash, d.policy);
  }
  return [...found.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([hash, document]) => ({ hash, document }));
}

interface Execution {
  workflowId: string;
  runId: string;
  startedAt: number;
}

/**
 * Every run of the cycle and of its grants. Visibility (list) finds each run, continue-as-new
 * included; ids seen only in the events (visibility lags behind) are fetched by id.
 */
async function executionsOf(client: Client, cycleId: string, prefix: string, events: StoredEvent[]): Promise<Execution[]> {
  const found = new Map<string, Execution>();
  const query = `WorkflowId = ${quote(cycleId)} OR WorkflowId STARTS_WITH ${quote(prefix)}`;
  try {
    for await (const info of client.workflow.list({ query })) {
      found.set(`${info.workflowId}/${info.runId}`, { workflowId: info.workflowId, runId: info.runId, startedAt: info.startTime.getTime() });
    }
  } catch {
    // A visibility store without STARTS_WITH: fall back to the ids the events name.
  }
  const ids = new Set<string>([cycleId]);
  for (const e of events) {
    if (e.streamId.startsWith(prefix)) ids.add(e.streamId);
    const grantId = (e.data as { grantId?: unknown }).grantId;
    if (typeof grantId === 'string' && grantId.startsWith(prefix)) ids.add(grantId);
    if (typeof e.metadata.workflowId === 'string') ids.add(e.metadata.workflowId);
  }
  const listedIds = new Set([...found.values()].map((e) => e.workflowId));
  for (const id of ids) {
    if (listedIds.has(id)) continue;
    try {
      const description = await client.workflow.getHandle(id).describe();
      found.set(`${id}/${description.runId}`, { workflowId: id, runId: description.runId, startedAt: description.startTime.getTime() });
    } catch {
      // Not in Temporal (retention passed, or never started): the events still go in the bundle.
    }
  }
  return [...found.values()].sort((a, b) => (a.workflowId === b.workflowId ? a.startedAt - b.startedAt : a.workflowId < b.workflowId ? -1 : 1));
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
