import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy, policyHash } from '../policy/parse';
import { DomainError } from '../shared/errors';
import { benchmarkPoints, benchmarkScore, rankBenchmarks, relativeToReference, type ItemOutcome } from './benchmark-result';
import { scoreItem } from './item-scoring';
import { accuracy, bootstrapInterval, separable } from './statistics';
import { BenchmarkSuiteSchema, promptOf, sampleItems, suiteVersion, type BenchmarkSuite } from './suite';

const suite: BenchmarkSuite = BenchmarkSuiteSchema.parse({
  id: 'tiny',
  name: 'Tiny',
  metric: 'accuracy',
  sampleSize: 3,
  seed: 'tiny-seed',
  items: [
    { id: 'a', kind: 'multiple_choice', prompt: 'What is 2 + 2?', choices: ['3', '4'], expected: 'B' },
    { id: 'b', kind: 'exact_match', prompt: 'Capital of France?', expected: 'Paris', aliases: ['Paris, France'] },
    { id: 'c', kind: 'numeric_tolerance', prompt: 'Pi to two decimals?', expected: 3.14, tolerance: 0.005 },
    { id: 'd', kind: 'numeric_tolerance', prompt: '10 x 10?', expected: 100, tolerance: 0 },
  ],
});

const outcomes = (right: number, wrong: number, failed = 0): ItemOutcome[] => [
  ...Array.from({ length: right }, (_, i) => ({ itemId: `r${i}`, status: 'answered' as const, correct: true })),
  ...Array.from({ length: wrong }, (_, i) => ({ itemId: `w${i}`, status: 'answered' as const, correct: false })),
  ...Array.from({ length: failed }, (_, i) => ({ itemId: `f${i}`, status: 'failed' as const, correct: false })),
];

describe('a benchmark suite as data', () => {
  it('is refused with the field and the reason when an item is wrong', () => {
    const bad = BenchmarkSuiteSchema.safeParse({
      ...suite,
      sampleSize: 9,
      items: [...suite.items, { id: 'a', kind: 'multiple_choice', prompt: 'x', choices: ['1', '2'], expected: 'C' }],
    });
    expect(bad.success).toBe(false);
    const issues = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(issues).toEqual(['sampleSize: must not exceed the 5 items', 'items.4.id: duplicate item id "a"', 'items.4.expected: names no choice (2 choices)']);
  });

  it('is versioned by the hash of its content, whatever the key order', () => {
    const reordered = JSON.parse(JSON.stringify({ seed: suite.seed, items: suite.items, sampleSize: 3, metric: 'accuracy', name: 'Tiny', id: 'tiny' })) as BenchmarkSuite;
    expect(suiteVersion(reordered)).toBe(suiteVersion(suite));
    expect(suiteVersion(suite)).toMatch(/^[0-9a-f]{64}$/);
    const changed = { ...suite, items: suite.items.map((i) => (i.kind === 'numeric_tolerance' && i.id === 'd' ? { ...i, expected: 101 } : i)) };
    expect(suiteVersion(changed)).not.toBe(suiteVersion(suite));
  });

  it('samples the same items in the same order for every run of a version, and another seed samples otherwise', () => {
    const first = sampleItems(suite).map((i) => i.id);
    expect(first).toHaveLength(3);
    expect(new Set(first).size).toBe(3);
    expect(sampleItems(JSON.parse(JSON.stringify(suite)) as BenchmarkSuite).map((i) => i.id)).toEqual(first);
    const orders = new Set(['s1', 's2', 's3', 's4', 's5', 's6'].map((seed) => sampleItems({ ...suite, seed }).map((i) => i.id).join()));
    expect(orders.size).toBeGreaterThan(1);
  });

  it('asks a multiple-choice item with lettered choices', () => {
    expect(promptOf(suite.items[0])).toBe('What is 2 + 2?\nA) 3\nB) 4\nAnswer with the letter only.');
  });
});

describe('scoring one answer', () => {
  const [mc, exact, pi, hundred] = suite.items;
  it.each([
    [mc, 'B', true, 'B'],
    [mc, ' (b) because 2 + 2 = 4', true, 'B'],
    [mc, 'Answer: B.', true, 'B'],
    [mc, 'A', false, 'A'],
    [mc, 'C', false, null],
    [mc, 'Bees', false, null],
    [exact, ' paris. ', true, 'paris'],
    [exact, 'Paris, France', true, 'paris, france'],
    [exact, 'Lyon', false, 'lyon'],
    [exact, '', false, null],
    [pi, '3.14159', true, '3.14159'],
    [pi, 'about 3.2', false, '3.2'],
    [hundred, 'The answer is 1,00', false, '1'],
    [hundred, '100', true, '100'],
    [hundred, 'It is 1,000 minus 900 = 100', false, '1000'],
    [hundred, 'a hundred', false, null],
  ])('%j answered %j: correct %s, read as %j', (item, response, correct, answer) => {
    expect(scoreItem(item, response)).toEqual({ correct, answer });
  });
});

describe('a score and its interval', () => {
  it('counts an unanswered item as wrong and reports it as an error', () => {
    const s = benchmarkScore(outcomes(30, 6, 4), 'seed', 'team-a');
    expect(s).toMatchObject({ accuracy: 0.75, items: 40, correct: 30, errors: 4 });
  });

  it('gives the same interval for the same outcomes and seed, which holds the accuracy', () => {
    const bits = outcomes(32, 8).map((o) => (o.correct ? 1 : 0));
    const a = bootstrapInterval(bits, 'seed:team-a');
    expect(bootstrapInterval(bits, 'seed:team-a')).toEqual(a);
    expect(a.low).toBeLessThan(0.8);
    expect(a.high).toBeGreaterThan(0.8);
    // The binomial standard error at n=40, p=0.8 is 0.063: a 95 % interval spans roughly ±0.12.
    expect(a.high - a.low).toBeGreaterThan(0.18);
    expect(a.high - a.low).toBeLessThan(0.32);
    expect(accuracy(bits)).toBe(0.8);
  });

  it('narrows with more items', () => {
    const width = (n: number) => {
      const i = bootstrapInterval(Array.from({ length: n }, (_, k) => (k % 5 === 0 ? 0 : 1)), 'w');
      return i.high - i.low;
    };
    expect(width(400)).toBeLessThan(width(40) / 2);
  });

  it('has no width when every answer is right', () => {
    expect(bootstrapInterval([1, 1, 1, 1], 's')).toEqual({ low: 1, high: 1 });
  });

  it('tells two teams apart only when their intervals do not overlap', () => {
    expect(separable({ low: 0.7, high: 0.9 }, { low: 0.5, high: 0.69 })).toBe(true);
    expect(separable({ low: 0.7, high: 0.9 }, { low: 0.5, high: 0.7 })).toBe(false);
    const ranked = rankBenchmarks([
      { applicationId: 'c', accuracy: 0.3, interval: { low: 0.15, high: 0.44 } },
      { applicationId: 'a', accuracy: 0.8, interval: { low: 0.68, high: 0.92 } },
      { applicationId: 'b', accuracy: 0.6, interval: { low: 0.45, high: 0.75 } },
    ]);
    expect(ranked.map((r) => [r.applicationId, r.notSeparableFrom])).toEqual([['a', ['b']], ['b', ['a']], ['c', []]]);
  });
});

describe('the policy maps a result to the points of its criterion', () => {
  const scale = { scale: { min: 0, max: 100 } };
  it('scores relative to a declared reference model, full points at 95 % of it', () => {
    const policy = { reference: { model: 'reference-7b', accuracy: 0.8 }, fullPointsAt: 0.95 };
    expect(relativeToReference(0.6, policy.reference)).toBe(0.75);
    expect(benchmarkPoints(policy, scale, 0.76)).toBe(100);
    expect(benchmarkPoints(policy, scale, 0.9)).toBe(100);
    expect(benchmarkPoints(policy, scale, 0.38)).toBe(50);
    expect(benchmarkPoints(policy, scale, 0)).toBe(0);
  });

  it('scores plain accuracy on the scale without a reference', () => {
    expect(benchmarkPoints({}, { scale: { min: 0, max: 10 } }, 0.65)).toBe(6.5);
  });

  it('is opt-in: the default policy keeps its hash, and a benchmark must name a criterion of its scheme', () => {
    const withBenchmark = (criterion: string) => ({
      ...defaultPolicyDocument,
      stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'evaluation' ? { ...s, benchmark: { suite: 'basic-reasoning', criterion, missingResult: 'score_zero' } } : s)),
    });
    expect(policyHash(parsePolicy(withBenchmark('benchmarks')))).not.toBe(policyHash(parsePolicy(defaultPolicyDocument)));
    try {
      parsePolicy(withBenchmark('speed'));
      throw new Error('expected a refusal');
    } catch (e) {
      expect(e).toBeInstanceOf(DomainError);
      expect((e as DomainError).issues).toEqual([{ field: 'stages.4.benchmark.criterion', reason: 'no criterion "speed" in scheme "model"' }]);
    }
  });
});
