/**
 * What program managers see of the runs in a cycle: per team, items done of total, errors, score so
 * far; and, for finished runs, the score's interval and which teams of the round it cannot be told
 * apart from (the domain's bootstrap and separability, on the stored outcomes).
 */
import type { DataSource } from 'typeorm';
import { accuracy, benchmarkScore, rankBenchmarks, type Interval } from '@concentra/domain';

export interface TeamProgress {
  applicationId: string;
  round: number;
  runId: string;
  suite: string;
  suiteVersion: string;
  total: number;
  done: number;
  errors: number;
  /** Right answers among the items done so far (unanswered count as wrong); null before the first. */
  scoreSoFar: number | null;
  finished: boolean;
  /** Finished runs: the 95 % interval of the score. */
  interval: Interval | null;
  /** Finished runs: teams of the same round whose interval overlaps this one's. */
  notSeparableFrom: string[] | null;
}

type Row = { run_id: string; round: number; application_id: string; suite_id: string; suite_version: string; seed: string; total: number; finished_at: Date | null };

export class EvaluationProgressReads {
  constructor(private readonly db: DataSource) {}

  async forCycle(cycleId: string): Promise<TeamProgress[]> {
    const runs = (await this.db.query(
      `SELECT run_id, round, application_id, suite_id, suite_version, seed, total, finished_at FROM evaluation_runs WHERE cycle_id = $1 ORDER BY round, application_id`,
      [cycleId],
    )) as Row[];
    const items = (await this.db.query(
      `SELECT i.run_id, i.item_id, i.status, i.correct FROM evaluation_item_results i JOIN evaluation_runs r ON r.run_id = i.run_id WHERE r.cycle_id = $1 ORDER BY i.run_id, i.position`,
      [cycleId],
    )) as Array<{ run_id: string; item_id: string; status: 'answered' | 'failed'; correct: boolean }>;
    const progress = runs.map((r): TeamProgress => {
      const own = items.filter((i) => i.run_id === r.run_id);
      const finished = r.finished_at !== null;
      const score = finished ? benchmarkScore(own.map((i) => ({ itemId: i.item_id, status: i.status, correct: i.correct })), r.seed, r.application_id) : null;
      return {
        applicationId: r.application_id,
        round: r.round,
        runId: r.run_id,
        suite: r.suite_id,
        suiteVersion: r.suite_version,
        total: r.total,
        done: own.length,
        errors: own.filter((i) => i.status === 'failed').length,
        scoreSoFar: own.length === 0 ? null : accuracy(own.map((i) => (i.correct ? 1 : 0))),
        finished,
        interval: score?.interval ?? null,
        notSeparableFrom: null,
      };
    });
    for (const round of new Set(progress.map((p) => p.round))) {
      const done = progress.filter((p) => p.round === round && p.interval);
      const ranked = rankBenchmarks(done.map((p) => ({ applicationId: p.applicationId, accuracy: p.scoreSoFar ?? 0, interval: p.interval! })));
      for (const p of done) p.notSeparableFrom = ranked.find((r) => r.applicationId === p.applicationId)!.notSeparableFrom;
    }
    return progress;
  }
}
