import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSchemathesis } from '@concentra/tools/schemathesis';
import { ROLES } from '@concentra/auth';
import { bearer, startHarness, type Harness } from './cycle-commands.support';

/** Checks that fail the run: a 5xx, a status the operation does not document, an answer that breaks its schema. */
const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'unsupported_method',
  'ignored_auth',
];
/**
 * Examples per operation and role in the fuzzing phase (6 roles × 44 operations × this, valid and
 * invalid data alike), which keeps the whole run to a few minutes. SCHEMATHESIS_PHASES adds the
 * coverage phase (boundary values, NUL, wrong types, missing fields: some 2,000 requests per role).
 */
const MAX_EXAMPLES = Number(process.env.SCHEMATHESIS_MAX_EXAMPLES ?? 6);
const PHASES = process.env.SCHEMATHESIS_PHASES ?? 'examples,fuzzing';
const SEED = process.env.SCHEMATHESIS_SEED ?? '1313';

interface Run {
  role: string;
  exitCode: number;
  output: string;
  requests: number;
  statuses: Record<number, number>;
}

/** Requests sent and answers by status, from the run's NDJSON events (one interaction per request). */
function counted(events: string): Pick<Run, 'requests' | 'statuses'> {
  const statuses: Record<number, number> = {};
  let requests = 0;
  for (const line of readFileSync(events, 'utf8').split('\n')) {
    if (!line.startsWith('{"ScenarioFinished"')) continue;
    // A scenario skipped before sending anything records no interactions.
    const { recorder } = (JSON.parse(line) as { ScenarioFinished: { recorder?: { interactions?: Record<string, { response?: { status_code: number } | null }> } } }).ScenarioFinished;
    for (const { response } of Object.values(recorder?.interactions ?? {})) {
      requests += 1;
      if (response) statuses[response.status_code] = (statuses[response.status_code] ?? 0) + 1;
    }
  }
  return { requests, statuses };
}

/** One schemathesis run as one role; the number of requests it sent is counted from its NDJSON events. */
function fuzz(bin: string, baseUrl: string, role: string, token: string, dir: string, phases: string): Promise<Run> {
  const events = join(dir, `${role}.ndjson`);
  const args = [
    'run', `${baseUrl}/docs/json`,
    '--url', baseUrl,
    '--header', `Authorization: ${token}`,
    '--checks', CHECKS.join(','),
    '--phases', phases,
    '--max-examples', String(MAX_EXAMPLES),
    '--seed', SEED,
    '--workers', '2',
    '--request-timeout', '30',
    '--no-color',
    '--output-truncate', 'true',
    '--report', 'ndjson',
    '--report-ndjson-path', events,
  ];
  return new Promise((resolve) => {
    // In the temp directory: schemathesis keeps its cache (.schemathesis/) in the working directory.
    execFile(bin, args, { cwd: dir, maxBuffer: 64 * 1024 * 1024, timeout: 600_000, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      const output = `${stdout}\n${stderr}`;
      try {
        resolve({ role, exitCode, output, ...counted(events) });
      } catch (failure) {
        resolve({ role, exitCode: exitCode || 1, output: `${output}\nthe NDJSON report could not be read: ${String(failure)}`, requests: 0, statuses: {} });
      }
    });
  });
}

/**
 * Schemathesis, installed from the Python index into the project's own venv, against the started
 * API (PostgreSQL, Temporal dev server, worker, HTTP API) with a token of every role: no 5xx, no
 * undocumented status, no answer that breaks the documented schema, over at least 1,000 requests.
 */
describe('schemathesis against the started API, every role', () => {
  let harness: Harness;
  let baseUrl: string;
  let bin: string;
  let dir: string;

  beforeAll(async () => {
    bin = await ensureSchemathesis();
    harness = await startHarness('schemathesis');
    await harness.api.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(harness.api.getHttpServer().address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'schemathesis-'));
  }, 900_000);
  afterAll(async () => {
    await harness?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds no 5xx, no undocumented status and no schema violation in ≥ 1,000 requests', async () => {
    const runs: Run[] = [];
    for (const role of ROLES) {
      const token = bearer({ sub: `fuzz-${role}`, role, ...(role === 'applicant' || role === 'reviewer' ? { org: `org-${role}` } : {}) });
      runs.push(await fuzz(bin, baseUrl, role, token, dir, PHASES));
    }
    const total = runs.reduce((n, r) => n + r.requests, 0);
    console.log(
      [`schemathesis: ${total} requests over ${runs.length} roles`, ...runs.map((r) => `  ${r.role}: exit ${r.exitCode}, ${r.requests} requests, by status ${JSON.stringify(r.statuses)}`)].join('\n'),
    );
    const failed = runs.filter((r) => r.exitCode !== 0);
    // On failure, schemathesis's own report of each failing run (what it sent, what came back, how to reproduce).
    expect(failed.map((r) => `--- ${r.role}\n${r.output.slice(-12_000)}`).join('\n')).toBe('');
    expect(total).toBeGreaterThanOrEqual(1_000);
    expect(runs.flatMap((r) => Object.keys(r.statuses).filter((s) => Number(s) >= 500))).toEqual([]);
  }, 1_800_000);
});
