import { createHash } from 'node:crypto';
import { canonicalJson, hashOf } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';

export const BUNDLE_FORMAT = 'concentra.cycle-bundle';
export const BUNDLE_FORMAT_VERSION = 1;

export interface BundledWorkflow {
  workflowId: string;
  runId: string;
  workflowType: string | null;
  /** The Temporal history as JSON (historyToJSON's norm). */
  history: unknown;
}

export interface BundledPolicy {
  hash: string;
  document: unknown;
}

export interface ManifestPart {
  /** `workflows/<workflowId>/<runId>`, `events/<streamId>`, `policies/<hash>`. */
  name: string;
  sha256: string;
  /** What the part holds: history events, domain events, or 1 for a policy. */
  items: number;
}

/** Everything an auditor needs about one cycle, readable with no server: histories, events, policies, hashes. */
export interface CycleBundle {
  format: typeof BUNDLE_FORMAT;
  formatVersion: typeof BUNDLE_FORMAT_VERSION;
  cycleId: string;
  exportedAt: string;
  exportedBy: string | null;
  temporal: { namespace: string; sdkVersion: string };
  workflows: BundledWorkflow[];
  /** The cycle's and its grants' streams, whole (from position 1), in global order. */
  events: StoredEvent[];
  policies: BundledPolicy[];
  manifest: { algorithm: 'sha256'; parts: ManifestPart[]; /** SHA-256 over the canonical list of parts. */ root: string };
}

export type UnsealedBundle = Omit<CycleBundle, 'manifest'>;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The parts of a bundle and the SHA-256 of each part's canonical JSON. */
export function manifestParts(bundle: UnsealedBundle): ManifestPart[] {
  const parts: ManifestPart[] = [];
  for (const w of bundle.workflows) {
    const events = (w.history as { events?: unknown[] })?.events ?? [];
    parts.push({ name: `workflows/${w.workflowId}/${w.runId}`, sha256: sha256Hex(canonicalJson(w)), items: events.length });
  }
  const streams = new Map<string, StoredEvent[]>();
  for (const e of bundle.events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  for (const [streamId, events] of [...streams.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    parts.push({ name: `events/${streamId}`, sha256: sha256Hex(canonicalJson(events)), items: events.length });
  }
  for (const p of bundle.policies) parts.push({ name: `policies/${p.hash}`, sha256: sha256Hex(canonicalJson(p)), items: 1 });
  return parts;
}

export function sealBundle(bundle: UnsealedBundle): CycleBundle {
  const parts = manifestParts(bundle);
  return { ...bundle, manifest: { algorithm: 'sha256', parts, root: sha256Hex(canonicalJson(parts)) } };
}

export interface ManifestProblem {
  part: string;
  problem: 'missing' | 'unexpected' | 'hash_mismatch' | 'root_mismatch' | 'policy_hash_mismatch' | 'policy_missing';
  expected?: string;
  actual?: string;
}

/** Recomputes every part's hash against the manifest, and every policy's own hash. */
export function checkManifest(bundle: CycleBundle): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  const actual = new Map(manifestParts(bundle).map((p) => [p.name, p.sha256]));
  const listed = new Map(bundle.manifest.parts.map((p) => [p.name, p.sha256]));
  for (const [name, sha] of listed) {
    const now = actual.get(name);
    if (now === undefined) problems.push({ part: name, problem: 'missing', expected: sha });
    else if (now !== sha) problems.push({ part: name, problem: 'hash_mismatch', expected: sha, actual: now });
  }
  for (const [name, sha] of actual) if (!listed.has(name)) problems.push({ part: name, problem: 'unexpected', actual: sha });
  const root = sha256Hex(canonicalJson(bundle.manifest.parts));
  if (root !== bundle.manifest.root) problems.push({ part: 'manifest', problem: 'root_mismatch', expected: bundle.manifest.root, actual: root });
  for (const p of bundle.policies) {
    const h = hashOf(p.document);
    if (h !== p.hash) problems.push({ part: `policies/${p.hash}`, problem: 'policy_hash_mismatch', expected: p.hash, actual: h });
  }
  const known = new Set(bundle.policies.map((p) => p.hash));
  const used = new Set(bundle.events.map((e) => e.metadata.policyHash).filter((h): h is string => typeof h === 'string'));
  for (const h of used) if (!known.has(h)) problems.push({ part: `policies/${h}`, problem: 'policy_missing' });
  return problems;
}

export function parseBundle(text: string): CycleBundle {
  const bundle = JSON.parse(text) as CycleBundle;
  if (bundle?.format !== BUNDLE_FORMAT) throw new Error(`not a Concentra cycle bundle (format ${JSON.stringify(bundle?.format)})`);
  if (bundle.formatVersion !== BUNDLE_FORMAT_VERSION) throw new Error(`bundle format version ${bundle.formatVersion} is not supported (expected ${BUNDLE_FORMAT_VERSION})`);
  return bundle;
}
