/**
 * A Temporal worker process serving the real evaluation activities (EvaluationActivities on real
 * PostgreSQL) on an activity task queue: the worker-crash test kills it (SIGKILL) mid-run and starts
 * another. Env: TEMPORAL_ADDRESS, DATABASE_URL, EVAL_ACTIVITY_QUEUE. Prints "polling" once it polls.
 */
import { activitiesOf } from '@concentra/temporal';
import { serveWorker } from '../../../../test/support/worker-process';
import { EvaluationActivities } from '../../src/evaluation.activities';

serveWorker('concentra-evaluation-worker-child', (db) => ({
  taskQueue: process.env.EVAL_ACTIVITY_QUEUE as string,
  activities: activitiesOf(new EvaluationActivities(db, { retryBackoffMs: 20 })),
}));
