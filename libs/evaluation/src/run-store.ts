/**
 * Per-item results in PostgreSQL, keyed by run and item. Writes are idempotent (the first answer
 * stored wins, a second write changes nothing), so a run resumed after a crash skips what it has and
 * two workers racing on one run cannot store an item twice.
 */
import type { DataSource } from 'typeorm';

export interface RunHeader {
  runId: string;
  cycleId: string;
  round: number;
  applicationId: string;
  suiteId: string;
  suiteVersion: string;
  seed: string;
  total: number;
  baseUrl: string;
  model: string;
  credentialRef: string | null;
}

export interface StoredItem {
  itemId: string;
  position: number;
  status: 'answered' | 'failed';
  correct: boolean;
  answer: string | null;
  responseSha256: string | null;
  response: string | null;
  error: string | null;
  attempts: number;
}

export class EvaluationRunStore {
  constructor(private readonly db: DataSource) {}

  /** Opens the run, or finds it open; a run id reused for another suite, team or endpoint is refused. */
  async open(h: RunHeader): Promise<void> {
    await this.db.query(
      `INSERT INTO evaluation_runs (run_id, cycle_id, round, application_id, suite_id, suite_version, seed, total, base_url, model, credential_ref)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (run_id) DO NOTHING`,
      [h.runId, h.cycleId, h.round, h.applicationId, h.suiteId, h.suiteVersion, h.seed, h.total, h.baseUrl, h.model, h.credentialRef],
    );
    const [row] = (await this.db.query(`SELECT application_id, suite_version, base_url, model, total FROM evaluation_runs WHERE run_id = $1`, [h.runId])) as Array<{
      application_id: string; suite_version: string; base_url: string; model: string; total: number;
    }>;
    const same = row.application_id === h.applicationId && row.suite_version === h.suiteVersion && row.base_url === h.baseUrl && row.model === h.model && row.total === h.total;
    if (!same) throw new RunMismatch(`run ${h.runId} was opened for ${row.application_id} (suite ${row.suite_version.slice(0, 12)}, ${row.base_url}, ${row.model}, ${row.total} items)`);
  }

  async items(runId: string): Promise<StoredItem[]> {
    const rows = (await this.db.query(
      `SELECT item_id, position, status, correct, answer, response_sha256, response, error, attempts FROM evaluation_item_results WHERE run_id = $1 ORDER BY position`,
      [runId],
    )) as Array<{ item_id: string; position: number; status: 'answered' | 'failed'; correct: boolean; answer: string | null; response_sha256: string | null; response: string | null; error: string | null; attempts: number }>;
    return rows.map((r) => ({ itemId: r.item_id, position: r.position, status: r.status, correct: r.correct, answer: r.answer, responseSha256: r.response_sha256, response: r.response, error: r.error, attempts: r.attempts }));
  }

  async record(runId: string, item: StoredItem): Promise<void> {
    await this.db.query(
      `INSERT INTO evaluation_item_results (run_id, item_id, position, status, correct, answer, response_sha256, response, error, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (run_id, item_id) DO NOTHING`,
      [runId, item.itemId, item.position, item.status, item.correct, item.answer, item.responseSha256, item.response, item.error, item.attempts],
    );
  }

  async finish(runId: string): Promise<void> {
    await this.db.query(`UPDATE evaluation_runs SET finished_at = coalesce(finished_at, now()) WHERE run_id = $1`, [runId]);
  }
}

export class RunMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunMismatch';
  }
}
