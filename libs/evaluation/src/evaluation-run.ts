/**
 * One team's benchmark run: every sampled item of the suite asked of the team's endpoint, each
 * answer scored and stored before the next counts as done, the score with its interval at the end.
 * Nest-free and Temporal-free: the activity gives it a heartbeat and a cancellation signal.
 */
import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { benchmarkScore, DomainError, promptOf, sampleItems, scoreItem, type BenchmarkItem, type Interval } from '@concentra/domain';
import { loadSuite, SUITES_DIR } from './catalogue';
import { endpointLimiter, type EndpointLimiter } from './endpoint-limiter';
import { askOnce, classifyFailure, clientFor, type AskFailure, type ModelEndpoint } from './model-endpoint';
import { EvaluationRunStore, type StoredItem } from './run-store';

export interface RunEvaluationInput {
  /** Deterministic from the workflow step (cycle, round, team), so a retried activity resumes the same run. */
  runId: string;
  cycleId: string;
  round: number;
  applicationId: string;
  suite: string;
  /** When the policy pins a version, a suite file with other content is refused. */
  suiteVersion?: string;
  endpoint: ModelEndpoint;
  /** Requests in flight at once to this endpoint; default 4. */
  concurrency?: number;
  /** Tries per item before it is recorded unanswered; default 3. */
  maxAttempts?: number;
  /** How long one request may take; default 30 s. */
  requestTimeoutMs?: number;
  /** Keep the answers' text, or only their SHA-256 (default). */
  responses?: 'keep' | 'hashes';
}

/** Per item in the sample's order: [item id, 1 right | 0 wrong | -1 unanswered, SHA-256 of the answer text or null]. */
export type OutcomeRow = [string, 1 | 0 | -1, string | null];

export interface BenchmarkRunResult {
  runId: string;
  applicationId: string;
  suite: string;
  suiteVersion: string;
  seed: string;
  accuracy: number;
  interval: Interval;
  items: number;
  correct: number;
  errors: number;
  outcomes: OutcomeRow[];
  /** Why each unanswered item failed (its last attempt). */
  itemErrors: Array<{ itemId: string; error: string }>;
}

export interface RunProgress {
  done: number;
  total: number;
  errors: number;
}

export interface RunHooks {
  heartbeat(progress: RunProgress): void;
  signal: AbortSignal;
}

export interface EvaluationRunOptions {
  suitesDir?: string;
  env?: NodeJS.ProcessEnv;
  limiter?: EndpointLimiter;
  /** First retry waits this long, doubling after each try; default 500 ms. */
  retryBackoffMs?: number;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

export class EvaluationRun {
  private readonly store: EvaluationRunStore;

  constructor(db: DataSource, private readonly options: EvaluationRunOptions = {}) {
    this.store = new EvaluationRunStore(db);
  }

  async run(input: RunEvaluationInput, hooks: RunHooks): Promise<BenchmarkRunResult> {
    const { suite, version } = loadSuite(input.suite, this.options.suitesDir ?? SUITES_DIR);
    if (input.suiteVersion && input.suiteVersion !== version) {
      throw new DomainError('conflict', `suite "${input.suite}" is version ${version}, the policy pins ${input.suiteVersion}`, 'suiteVersion');
    }
    const sample = sampleItems(suite);
    await this.store.open({
      runId: input.runId, cycleId: input.cycleId, round: input.round, applicationId: input.applicationId, suiteId: suite.id, suiteVersion: version,
      seed: suite.seed, total: sample.length, baseUrl: input.endpoint.baseUrl, model: input.endpoint.model, credentialRef: input.endpoint.credentialRef ?? null,
    });
    const stored = new Map((await this.store.items(input.runId)).map((i) => [i.itemId, i]));
    const progress = () => ({ done: stored.size, total: sample.length, errors: [...stored.values()].filter((i) => i.status === 'failed').length });
    hooks.heartbeat(progress());

    const timeoutMs = input.requestTimeoutMs ?? 30_000;
    const client = clientFor(input.endpoint, timeoutMs, this.options.env);
    const limiter = this.options.limiter ?? endpointLimiter;
    const pending = sample.map((item, position) => ({ item, position })).filter(({ item }) => !stored.has(item.id));
    await Promise.all(
      pending.map(({ item, position }) =>
        limiter.run(input.endpoint.baseUrl, input.concurrency ?? 4, async () => {
          hooks.signal.throwIfAborted();
          const result = await this.askItem(client, input, item, position, hooks.signal);
          await this.store.record(input.runId, result);
          stored.set(item.id, result);
          hooks.heartbeat(progress());
        }),
      ),
    );
    await this.store.finish(input.runId);
    return summarise(input, suite.id, version, suite.seed, sample, await this.store.items(input.runId));
  }

  /** Asks one item with bounded tries and growing pauses; what it returns is what is stored. */
  private async askItem(client: ReturnType<typeof clientFor>, input: RunEvaluationInput, item: BenchmarkItem, position: number, signal: AbortSignal): Promise<StoredItem> {
    const maxAttempts = input.maxAttempts ?? 3;
    let failure: AskFailure = { message: 'not asked', retryable: false };
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      signal.throwIfAborted();
      try {
        const response = await askOnce(client, input.endpoint.model, promptOf(item), signal);
        const { correct, answer } = scoreItem(item, response);
        return {
          itemId: item.id, position, status: 'answered', correct, answer, responseSha256: sha256(response),
          response: input.responses === 'keep' ? response : null, error: null, attempts: attempt,
        };
      } catch (error) {
        signal.throwIfAborted();
        failure = classifyFailure(error, input.requestTimeoutMs ?? 30_000);
        if (!failure.retryable || attempt === maxAttempts) {
          return { itemId: item.id, position, status: 'failed', correct: false, answer: null, responseSha256: null, response: null, error: `${failure.message} (after ${attempt} of ${maxAttempts} tries)`, attempts: attempt };
        }
        await pause((this.options.retryBackoffMs ?? 500) * 2 ** (attempt - 1), signal);
      }
    }
    throw new Error(`unreachable: ${failure.message}`);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The result from the stored items, in the sample's order: what the cycle records. */
export function summarise(input: Pick<RunEvaluationInput, 'runId' | 'applicationId'>, suite: string, suiteVersion: string, seed: string, sample: BenchmarkItem[], items: StoredItem[]): BenchmarkRunResult {
  const byId = new Map(items.map((i) => [i.itemId, i]));
  const ordered = sample.map((s) => byId.get(s.id)).filter((i): i is StoredItem => i !== undefined);
  const score = benchmarkScore(ordered.map((i) => ({ itemId: i.itemId, status: i.status, correct: i.correct })), seed, input.applicationId);
  return {
    runId: input.runId,
    applicationId: input.applicationId,
    suite,
    suiteVersion,
    seed,
    ...score,
    outcomes: ordered.map((i) => [i.itemId, i.status === 'failed' ? -1 : i.correct ? 1 : 0, i.responseSha256]),
    itemErrors: ordered.filter((i) => i.status === 'failed').map((i) => ({ itemId: i.itemId, error: i.error ?? 'unanswered' })),
  };
}
