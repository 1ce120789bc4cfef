import { mkdirSync, mkdtempSync, openSync, readFileSync, readSync, closeSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import * as tar from 'tar';
import type { StoredEvent } from '@concentra/persistence';
import { parseBundle, type BundledPolicy, type BundledWorkflow, type CycleBundle } from './bundle';

/**
 * A bundle on disk: one JSON file, or a tar of its parts for those who want to open it with
 * ordinary tools: manifest.json (with the header), workflows/<id>/<run>.json, events/<stream>.json,
 * policies/<hash>.json. Both read back to the same bundle, whose manifest hashes then check out.
 */
export async function writeBundleFile(path: string, bundle: CycleBundle, options: { tar?: boolean } = {}): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  if (!options.tar) {
    writeFileSync(path, JSON.stringify(bundle));
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'concentra-bundle-'));
  try {
    const put = (name: string, value: unknown) => {
      mkdirSync(dirname(join(dir, name)), { recursive: true });
      writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
    };
    const { workflows, events, policies, ...header } = bundle;
    put('manifest.json', header);
    for (const w of workflows) put(`workflows/${safe(w.workflowId)}/${safe(w.runId)}.json`, w);
    const streams = new Map<string, StoredEvent[]>();
    for (const e of events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
    for (const [streamId, list] of streams) put(`events/${safe(streamId)}.json`, list);
    for (const p of policies) put(`policies/${p.hash}.json`, p);
    const files = listFiles(dir).sort();
    await tar.create({ file: path, cwd: dir, portable: true, mtime: new Date(bundle.exportedAt) }, files);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Reads a bundle file, JSON or tar (recognised by its content, not its name). */
export function readBundleFile(path: string): CycleBundle {
  if (!isTar(path)) return parseBundle(readFileSync(path, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'concentra-bundle-'));
  try {
    tar.extract({ file: path, cwd: dir, sync: true });
    const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as unknown;
    const header = read('manifest.json') as Omit<CycleBundle, 'workflows' | 'events' | 'policies'>;
    const files = listFiles(dir);
    const workflows = files.filter((f) => f.startsWith('workflows/')).map((f) => read(f) as BundledWorkflow);
    const events = files.filter((f) => f.startsWith('events/')).flatMap((f) => read(f) as StoredEvent[]);
    const policies = files.filter((f) => f.startsWith('policies/')).map((f) => read(f) as BundledPolicy);
    // The order the JSON form has: workflows as listed in the manifest, events in global order.
    const order = new Map(header.manifest.parts.map((p, i) => [p.name, i]));
    workflows.sort((a, b) => (order.get(`workflows/${a.workflowId}/${a.runId}`) ?? 0) - (order.get(`workflows/${b.workflowId}/${b.runId}`) ?? 0));
    events.sort((a, b) => a.globalPosition - b.globalPosition);
    policies.sort((a, b) => (a.hash < b.hash ? -1 : 1));
    return parseBundle(JSON.stringify({ ...header, workflows, events, policies }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function isTar(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(262);
    const n = readSync(fd, buf, 0, 262, 0);
    return n >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    closeSync(fd);
  }
}

function safe(name: string): string {
  return encodeURIComponent(name);
}

function listFiles(root: string, dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(root, join(dir, entry.name)) : [relative(root, join(dir, entry.name)).split('\\').join('/')],
  );
}
