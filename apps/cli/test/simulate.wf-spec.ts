/**
 * `concentra simulate` on the real time-skipping test server and a throwaway database: the default
 * policy and the three-round example side by side, and the same seed giving the same outcome.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultPolicyDocument, multiRoundExamplePolicyDocument } from '@concentra/domain';
import { readPolicyFile, simulate } from '../src/simulate/simulate';
import { formatSummaries } from '../src/simulate/report';

const examples = join(__dirname, '..', '..', '..', 'examples', 'policies');

describe('simulate', () => {
  it('ships the default and three-round policies as example files, the same documents as the domain', () => {
    expect(JSON.parse(readFileSync(join(examples, 'default.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(defaultPolicyDocument)));
    expect(JSON.parse(readFileSync(join(examples, 'three-round.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(multiRoundExamplePolicyDocument)));
  });

  it('refuses a policy that does not validate, naming the field', () => {
    const bad = join(__dirname, 'bad-policy.tmp.json');
    require('node:fs').writeFileSync(bad, JSON.stringify({ ...defaultPolicyDocument, stages: [] }));
    try {
      expect(() => readPolicyFile(bad)).toThrow(/stages/);
    } finally {
      require('node:fs').rmSync(bad);
    }
  });

  it('runs the default policy and the three-round variant side by side; the same seed gives the same outcome', async () => {
    const [defaultPolicy, threeRounds] = [readPolicyFile(join(examples, 'default.json')), readPolicyFile(join(examples, 'three-round.json'))];
    const options = { applications: 8, seed: 'spec-seed', adminUrl: process.env.TEST_POSTGRES_ADMIN_URL };
    const [a, b, again] = await simulate({ ...options, policies: [defaultPolicy, threeRounds, defaultPolicy] });

    // The default year: 3-5 selected, one narrowing to 2 finalists, closed.
    expect(a.outcome).toMatch(/^completed on day \d+$/);
    expect(a.selected[0]).toMatch(/^selected (app-\d{3}, ){4}app-\d{3}$/);
    expect(a.narrowed.filter((l) => l.startsWith('round '))).toHaveLength(1);
    expect(a.narrowed.at(-1)).toMatch(/^finalists app-\d{3}, app-\d{3}$/);
    // Three rounds, each narrowing once: 5 → 4 → 3 → 2.
    expect(b.timeline.filter((l) => / narrowed \d: /.test(l)).map((l) => l.replace(/^day +\d+ +/, ''))).toEqual([
      'narrowed 1: kept 4, dropped 1 (approved)',
      'narrowed 2: kept 3, dropped 1 (approved)',
      'narrowed 3: kept 2, dropped 1 (approved)',
    ]);
    expect(b.selected[0]).toBe(a.selected[0]);
    // GPUs: the whole selection holds its grant, then only finalists; nothing is held at the end.
    expect(Math.max(...a.gpuByMonth.map((m) => m.gpus))).toBe(5 * 512);
    expect(Math.max(...b.gpuByMonth.map((m) => m.gpus))).toBe(5 * 256);
    expect(a.gpuByMonth.at(-1)!.gpus).toBe(0);
    expect(b.gpuByMonth.at(-1)!.gpus).toBe(0);

    // Same policy, same seed, another cycle (on the same server, so some years later, on the same
    // calendar day): the same report, line for line.
    expect(a.opened).toMatch(/-01-04$/);
    expect(again.opened > a.opened).toBe(true);
    expect({ ...again, opened: a.opened }).toEqual(a);
    const printed = formatSummaries([a, b]);
    expect(printed).toContain('Three-round programme');
    expect(printed).toContain('== deadlines missed');
  });
});
