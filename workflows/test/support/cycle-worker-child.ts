/**
 * A Temporal worker process serving the cycle workflows (a prebuilt bundle, CYCLE_BUNDLE) and the
 * real event and notification activities on real PostgreSQL, on CYCLE_TASK_QUEUE: the batched-command
 * crash test kills it (SIGKILL) and starts another. With CYCLE_KILL_AFTER_BATCH=1 the process kills
 * itself right after the first append that stored more than one command's events has committed and
 * before Temporal hears of it: the retry must store nothing twice. Prints "polling" once it polls.
 */
import { EventActivities, EventStore, PROJECTIONS, type RecordEventsInput } from '@concentra/persistence';
import { NotificationActivities } from '@concentra/notifications';
import { activitiesOf, workflowSinks } from '@concentra/temporal';
import { serveWorker } from '../../../test/support/worker-process';

serveWorker('concentra-cycle-worker-child', (db) => {
  const events = new EventActivities(new EventStore(db, PROJECTIONS));
  const recordEvents = async (input: RecordEventsInput) => {
    const result = await events.recordEvents(input);
    const commands = input.events.filter((e) => e.type === 'ApplicationSubmitted').length;
    if (process.env.CYCLE_KILL_AFTER_BATCH === '1' && commands > 1) {
      process.stdout.write(`killed after storing ${input.events.map((e) => e.eventId).join(',')}\n`);
      process.kill(process.pid, 'SIGKILL');
    }
    return result;
  };
  return {
    taskQueue: process.env.CYCLE_TASK_QUEUE as string,
    workflowBundle: { codePath: process.env.CYCLE_BUNDLE as string },
    activities: { ...activitiesOf(events), ...activitiesOf(new NotificationActivities(db)), recordEvents },
    sinks: workflowSinks(),
  };
});
