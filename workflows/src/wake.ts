import { CancellationScope, sleep } from '@temporalio/workflow';
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

/** What a wake is for, as a key: the same key means the same timer may stay armed. */
export function wakeKey(wake: Wake | null): string | null {
  return wake && `${wake.deadline?.kind ?? 'reminders'}@${wake.at}`;
}

/**
 * One durable timer armed for a named purpose, kept armed while that purpose stands: a command that
 * changes the state but not the purpose leaves it alone (so an overdue reminder is written even
 * while commands keep coming, and the history does not gain a cancel and a restart per command).
 * Whether it fired is a fact of the history, never a comparison with the clock.
 */
export class Alarm {
  private armed: { key: string; scope: CancellationScope } | null = null;
  private firedKey: string | null = null;

  /** Arms the timer for `key` (at an instant, or after a duration), unless it is armed for it already; null disarms. */
  set(key: string | null, when: { at: string } | { after: Duration } | null): void {
    if (key === (this.armed?.key ?? null) || (key !== null && key === this.firedKey)) return;
    this.armed?.scope.cancel();
    this.armed = null;
    this.firedKey = null;
    if (key === null || when === null) return;
    const scope = new CancellationScope();
    const armed = { key, scope };
    this.armed = armed;
    scope
      .run(() => sleep('at' in when ? untilInstant(when.at) : when.after))
      .then(
        () => {
          if (this.armed !== armed) return;
          this.armed = null;
          this.firedKey = key;
        },
        () => undefined, // disarmed, or the workflow was cancelled
      );
  }

  /** The key the timer fired for, once; then the alarm is free to be armed again. */
  take(): string | null {
    const key = this.firedKey;
    this.firedKey = null;
    return key;
  }

  get fired(): boolean {
    return this.firedKey !== null;
  }
}

/** How long until an instant: the clock sets the timer's length only, never what happens when it fires. */
function untilInstant(at: string): number {
  return Math.max(1, Date.parse(at) - Date.now());
}
