/**
 * The activities the worker binds (`activitiesOf(...)`): every method on this prototype is an
 * activity. They turn the run's outcome into Temporal's terms: heartbeats with the items done, the
 * cancellation signal, and non-retryable failures for what no retry can mend (a missing
 * credential, a suite that is not the pinned version).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { DataSource } from 'typeorm';
import { DomainError } from '@concentra/domain';
import { DEFAULT_REGISTRY_FILE, loadRegistry } from './catalogue';
import { EvaluationRun, type BenchmarkRunResult, type EvaluationRunOptions, type RunEvaluationInput, type RunProgress } from './evaluation-run';

/** Well inside the workflow's heartbeat timeout (2 minutes); the SDK throttles what it sends. */
const HEARTBEAT_EVERY_MS = 5_000;
import { CredentialMissing } from './model-endpoint';
import { checkProvenance, type ProvenanceVerdict, type SubmittedArtifact } from './provenance';
import { RunMismatch } from './run-store';

export interface CheckProvenanceInput {
  applicationId: string;
  artifacts: SubmittedArtifact[];
}

/** What workflows proxy (`import type` only). */
export interface EvaluationActivityTypes {
  runEvaluation(input: RunEvaluationInput): Promise<BenchmarkRunResult>;
  checkProvenance(input: CheckProvenanceInput): Promise<ProvenanceVerdict>;
}

function toActivityFailure(error: unknown): unknown {
  if (error instanceof CredentialMissing) return ApplicationFailure.create({ type: 'CredentialMissing', message: error.message, nonRetryable: true });
  if (error instanceof RunMismatch) return ApplicationFailure.create({ type: 'RunMismatch', message: error.message, nonRetryable: true });
  if (error instanceof DomainError) return ApplicationFailure.create({ type: 'DomainError', message: error.message, nonRetryable: true, details: [error.toJSON()] });
  return error;
}

export class EvaluationActivities implements EvaluationActivityTypes {
  constructor(
    private readonly db: DataSource,
    private readonly options: EvaluationRunOptions & { registryFile?: string } = {},
  ) {}

  async runEvaluation(input: RunEvaluationInput): Promise<BenchmarkRunResult> {
    const ctx = Context.current();
    // Heartbeat on a beat as well as after each item: an answer may take longer than the heartbeat
    // timeout, and a cancellation reaches an activity only with the answer to a heartbeat.
    let progress: RunProgress = { done: 0, total: 0, errors: 0 };
    const beat = setInterval(() => ctx.heartbeat(progress), HEARTBEAT_EVERY_MS);
    try {
      return await new EvaluationRun(this.db, this.options).run(input, {
        heartbeat: (p) => {
          progress = p;
          ctx.heartbeat(p);
        },
        signal: ctx.cancellationSignal,
      });
    } catch (error) {
      // A cancelled activity leaves with Temporal's own cancellation, not as a failure to retry.
      if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
      throw toActivityFailure(error);
    } finally {
      clearInterval(beat);
    }
  }

  async checkProvenance(input: CheckProvenanceInput): Promise<ProvenanceVerdict> {
    const { registry, version } = loadRegistry(this.options.registryFile ?? DEFAULT_REGISTRY_FILE);
    return checkProvenance(input.artifacts, registry, version);
  }
}
