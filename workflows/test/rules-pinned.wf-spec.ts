/**
 * Rules pinned per cycle (issue 8). A release changes a ranking rule while cycles run: the state of
 * a cycle evolves from the events its record activity answered (on replay, from the history), so a
 * recorded cycle keeps the decisions it recorded and replays clean; a new cycle decides by the new rule.
 */
import { join } from 'node:path';
import { NormalModuleReplacementPlugin } from 'webpack';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { replayHistories } from '@concentra/audit';
import { defaultPolicy } from '@concentra/domain';
import { workflowBundleOptions } from '@concentra/temporal';
import { historyFixturePath, loadHistoryFixture } from '../../test/support/histories';
import { pm } from '../../libs/domain/src/cycle/testing';
import { CycleHarness } from './cycle-harness';
import { PANEL, applyAll, reviewAll } from './cycle-drivers';

const domainCycleDir = join(__dirname, '..', '..', 'libs', 'domain', 'src', 'cycle');

/** The workflows as built, with libs/domain's ranking replaced by the changed rule. */
async function bundleWithChangedRule(): Promise<WorkflowBundleWithSourceMap> {
  const options = workflowBundleOptions();
  const quiet = { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
  return bundleWorkflowCode({
    ...options,
    logger: quiet,
    webpackConfigHook: (config) => {
      const base = options.webpackConfigHook ? options.webpackConfigHook(config) : config;
      const replace = new NormalModuleReplacementPlugin(/^\.\.\/scoring\/rank$/, (resource: { context: string; request: string }) => {
        if (resource.context === domainCycleDir) resource.request = join(__dirname, 'rules-variant', 'rank-lowest-first.ts');
      });
      return { ...base, plugins: [...(base.plugins ?? []), replace] };
    },
  });
}

describe('a ranking rule changed under running cycles', () => {
  let changed: WorkflowBundleWithSourceMap;
  let harness: CycleHarness;
  beforeAll(async () => {
    changed = await bundleWithChangedRule();
    harness = await CycleHarness.create({ bundle: changed });
  });
  afterAll(async () => harness?.close());

  it('a recorded cycle replays clean: the grants it started are those its recorded selection named', async () => {
    // default-year selected a1..a5 under the rule in force; under the changed rule its ranking
    // would propose a4..a8. The replay starts the recorded grant children or fails on the first other id.
    const fixture = loadHistoryFixture(historyFixturePath('default-year'));
    const report = await replayHistories([{ workflowId: fixture.workflowId, runId: fixture.scenario, history: fixture.history }], { workflowBundle: changed });
    expect(report.workflows.filter((w) => !w.ok)).toEqual([]);
  });

  it('a new cycle decides by the changed rule', async () => {
    const run = await harness.start({ ...defaultPolicy, repeatEvery: undefined }, { panel: PANEL });
    const ids = await applyAll(run, 8);
    await run.passDeadline('call_close');
    await reviewAll(run, ids);
    await run.passDeadline('review_due');
    await run.send({ type: 'ApproveSelection', actor: pm, data: { rationale: 'as ranked' } });
    const selected = (await run.events()).find((e) => e.type === 'AwardeesSelected')!;
    // The rule in force selects a1..a5 from these reviews (default-year.wf-spec.ts); the changed rule the lowest five.
    expect([...(selected.data.awardees as string[])].sort()).toEqual(['a4', 'a5', 'a6', 'a7', 'a8']);
  });
});
