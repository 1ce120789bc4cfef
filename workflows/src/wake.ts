import { CancellationScope, condition, sleep } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import { isBefore, nextDeadline, nextReminderAt, type CycleState, type DeadlineKind } from '@concentra/domain';

/**
 * What a cycle's next timer is armed for. When it fires, exactly this has happened: the named
 * deadline (if any) has passed and every reminder planned up to `at` is due. Workflow code never
 * compares the clock with an instant to find out (a replay after a crash may read another time and
 * take another path); the clock only sets how long the timer runs.
 */
export interface Wake {
  at: string;
  deadline: { kind: DeadlineKind; at: string } | null;
}

/** The earlier of the next deadline and the next reminder after `remindersThrough`. */
export function nextWake(state: CycleState, remindersThrough: string | null): Wake | null {
  const due = nextDeadline(state);
  const deadline = due ? { kind: due.deadline, at: due.at } : null;
  const reminderAt = remindersThrough ? nextReminderAt(state, remindersThrough) : null;
  if (reminderAt && (!deadline || isBefore(reminderAt, deadline.at))) return { at: reminderAt, deadline: null };
  return deadline && { at: deadline.at, deadline };
}

/** A timer armed for a named purpose. */
export interface Alarm<P extends string> {
  purpose: P;
  at?: string;
  after?: Duration;
}

/**
 * Waits until `changed()` holds or one of the alarms fires, and says which. Each alarm is its own
 * timer, so which one fired is a fact of the history, not a comparison made afterwards.
 */
export async function waitFor<P extends string>(changed: () => boolean, alarms: Alarm<P>[]): Promise<P | 'changed'> {
  const scopes: CancellationScope[] = [];
  const timers = alarms.map((alarm) => {
    const scope = new CancellationScope();
    scopes.push(scope);
    const promise = scope.run(() => sleep(alarm.at ? untilInstant(alarm.at) : alarm.after!)).then(() => alarm.purpose);
    promise.catch(() => undefined);
    return promise;
  });
  const watch = new CancellationScope();
  scopes.push(watch);
  const change = watch.run(() => condition(changed)).then(() => 'changed' as const);
  change.catch(() => undefined);
  try {
    return await Promise.race([change, ...timers]);
  } finally {
    for (const scope of scopes) scope.cancel();
  }
}

/** How long until an instant: the clock sets the timer's length only, never what happens when it fires. */
function untilInstant(at: string): number {
  return Math.max(1, Date.parse(at) - Date.now());
}
