/** What program managers see of the runs in a cycle: per team, items done of total, errors, score so far. */
import type { DataSource } from 'typeorm';
import { accuracy } from '@concentra/domain';

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
}

export class EvaluationProgressReads {
  constructor(private readonly db: DataSource) {}

  async forCycle(cycleId: string): Promise<TeamProgress[]> {
    const rows = (await this.db.query(
      `SELECT r.run_id, r.round, r.application_id, r.suite_id, r.suite_version, r.total, r.finished_at,
              count(i.item_id)::int AS done,
              count(i.item_id) FILTER (WHERE i.status = 'failed')::int AS errors,
              count(i.item_id) FILTER (WHERE i.correct)::int AS correct
         FROM evaluation_runs r LEFT JOIN evaluation_item_results i ON i.run_id = r.run_id
        WHERE r.cycle_id = $1
        GROUP BY r.run_id ORDER BY r.round, r.application_id`,
      [cycleId],
    )) as Array<{ run_id: string; round: number; application_id: string; suite_id: string; suite_version: string; total: number; finished_at: Date | null; done: number; errors: number; correct: number }>;
    return rows.map((r) => ({
      applicationId: r.application_id,
      round: r.round,
      runId: r.run_id,
      suite: r.suite_id,
      suiteVersion: r.suite_version,
      total: r.total,
      done: r.done,
      errors: r.errors,
      scoreSoFar: r.done === 0 ? null : accuracy([...Array<number>(r.correct).fill(1), ...Array<number>(r.done - r.correct).fill(0)]),
      finished: r.finished_at !== null,
    }));
  }
}
