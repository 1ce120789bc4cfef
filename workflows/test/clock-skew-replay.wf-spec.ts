/**
 * The wedge of issue 8: a deadline timer fired while the worker was down, the workflow task was
 * retried elsewhere, and the replay read a workflow clock that was earlier than the deadline. Code
 * that asked "has the deadline passed?" by comparing the clock then took another path (it armed the
 * timer again) and every later replay failed with a nondeterminism error.
 *
 * This replays every recorded history with the clock of each workflow task that follows a fired
 * timer moved back to before that timer was due: workflow code that decides by the timer it armed,
 * not by the clock, replays clean.
 */
import { historyFromPlain, replayHistories } from '@concentra/audit';
import { loadHistoryFixtures } from '../../test/support/histories';
import { workflowBundle } from '../../test/support/worker';

interface PlainEvent {
  eventId: string;
  eventTime: string;
  eventType: string;
  timerStartedEventAttributes?: { startToFireTimeout?: string };
  timerFiredEventAttributes?: { startedEventId: string };
}

/** Every workflow task that starts after a timer fired reads a clock 5 minutes before the timer was due. */
function clockBeforeEachFiredTimer(history: { events: PlainEvent[] }): { events: PlainEvent[]; moved: number } {
  const events = history.events.map((e) => ({ ...e }));
  const byId = new Map(events.map((e) => [e.eventId, e]));
  let dueAt: number | null = null;
  let moved = 0;
  for (const event of events) {
    if (event.eventType.endsWith('TIMER_FIRED')) {
      const started = byId.get(event.timerFiredEventAttributes!.startedEventId)!;
      const seconds = Number.parseFloat(started.timerStartedEventAttributes!.startToFireTimeout!.replace(/s$/, ''));
      dueAt = Date.parse(started.eventTime) + seconds * 1000;
    } else if (event.eventType.endsWith('WORKFLOW_TASK_STARTED') && dueAt !== null) {
      event.eventTime = new Date(dueAt - 5 * 60_000).toISOString();
      dueAt = null;
      moved += 1;
    }
  }
  return { events, moved };
}

describe('a replay whose clock reads earlier than a fired deadline takes the same path', () => {
  it('every recorded history replays clean with the clock moved back after each fired timer', async () => {
    const fixtures = loadHistoryFixtures();
    expect(fixtures.length).toBeGreaterThan(0);
    const skewed = fixtures.map((f) => {
      const plain = JSON.parse(JSON.stringify(f.plain)) as { events: PlainEvent[] };
      const { events, moved } = clockBeforeEachFiredTimer(plain);
      return { scenario: f.scenario, workflowId: f.workflowId, moved, history: historyFromPlain({ events }) };
    });
    // The fixtures do fire deadline timers: the test moves real clocks.
    expect(skewed.reduce((n, s) => n + s.moved, 0)).toBeGreaterThan(10);
    const report = await replayHistories(
      skewed.map((s) => ({ workflowId: s.workflowId, runId: s.scenario, history: s.history })),
      { workflowBundle: await workflowBundle() },
    );
    expect(report.workflows.filter((w) => !w.ok)).toEqual([]);
  });
});
