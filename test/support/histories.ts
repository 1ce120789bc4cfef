/**
 * Recorded workflow histories for the replay guard. Scenario tests call `recordHistoryFixture`
 * after a workflow ends; `workflows/test/replay.wf-spec.ts` replays every fixture against the
 * current workflow code on each `npm test`, so a non-deterministic change fails the build.
 *
 * A fixture is written once per scenario and SDK version and then kept: re-recording on every run
 * would compare the code with itself. Set UPDATE_HISTORY_FIXTURES=1 to record again on purpose
 * (after a change guarded with patched(), keep the old file and add the new one under a new name).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { historyFromPlain, historyToPlain, temporalSdkVersion } from '@concentra/audit';

export const HISTORY_FIXTURES_DIR = join(__dirname, '..', '..', 'workflows', 'test', 'fixtures', 'histories');

export { temporalSdkVersion };

export function historyFixturePath(scenarioName: string, dir = HISTORY_FIXTURES_DIR): string {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(scenarioName)) throw new Error(`scenario name '${scenarioName}' must be kebab-case (it names a file)`);
  return join(dir, `${scenarioName}.${temporalSdkVersion()}.json`);
}

export interface RecordedFixture {
  path: string;
  written: boolean;
  events: number;
}

/** Saves the workflow's history as `<scenario>.<sdk-version>.json` unless that file exists already. */
export async function recordHistoryFixture(
  handle: Pick<WorkflowHandle, 'fetchHistory' | 'workflowId'>,
  scenarioName: string,
  options: { dir?: string; overwrite?: boolean } = {},
): Promise<RecordedFixture> {
  const path = historyFixturePath(scenarioName, options.dir);
  const history = await handle.fetchHistory();
  const events = history.events?.length ?? 0;
  const overwrite = options.overwrite ?? process.env.UPDATE_HISTORY_FIXTURES === '1';
  if (existsSync(path) && !overwrite) return { path, written: false, events };
  mkdirSync(join(path, '..'), { recursive: true });
  const body = { workflowId: handle.workflowId, scenario: scenarioName, sdkVersion: temporalSdkVersion(), history: historyToPlain(history) };
  writeFileSync(path, `${JSON.stringify(body, null, 2)}\n`);
  return { path, written: true, events };
}

export interface HistoryFixture {
  file: string;
  scenario: string;
  workflowId: string;
  sdkVersion: string;
  history: History;
  /** The history as stored in the file (JSON), for tests that edit it before replaying. */
  plain: unknown;
}

export function loadHistoryFixture(path: string): HistoryFixture {
  const body = JSON.parse(readFileSync(path, 'utf8')) as { workflowId: string; scenario: string; sdkVersion: string; history: unknown };
  return { file: path, scenario: body.scenario, workflowId: body.workflowId, sdkVersion: body.sdkVersion, history: historyFromPlain(body.history), plain: body.history };
}

export function loadHistoryFixtures(dir = HISTORY_FIXTURES_DIR): HistoryFixture[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadHistoryFixture(join(dir, f)));
}
