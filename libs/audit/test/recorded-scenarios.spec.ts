/**
 * Re-derivation of the engine's own recorded scenarios: the decisions are taken from the histories
 * under workflows/test/fixtures/histories (the events each workflow handed to recordEvents), so this
 * runs offline, on exactly what the real workflow decided.
 */
import { decisionsInHistory } from '../src/cross-check';
import { rederive, type DecisionSource } from '../src/rederive';
import { loadHistoryFixtures } from '../../../test/support/histories';

const fixtures = loadHistoryFixtures();

function decisionsOf(fixture: (typeof fixtures)[number]): DecisionSource[] {
  const positions = new Map<string, number>();
  const seen = new Set<string>();
  return decisionsInHistory(fixture.workflowId, fixture.scenario, fixture.history)
    // A failed append stored nothing (a refused batch; its commands were applied again one at a time).
    .filter((step) => step.completed && !seen.has(step.event.eventId) && seen.add(step.event.eventId))
    .map((step) => {
      const position = (positions.get(step.streamId) ?? 0) + 1;
      positions.set(step.streamId, position);
      return { streamId: step.streamId, streamPosition: position, eventId: step.event.eventId, type: step.event.type, data: step.event.data, occurredAt: step.event.occurredAt };
    });
}

describe('re-derivation of the recorded engine scenarios', () => {
  if (fixtures.length === 0) {
    it('has no recorded scenarios yet', () => expect(fixtures).toEqual([]));
    return;
  }

  it.each(fixtures.map((f) => [f.scenario, f] as const))('%s: every decision re-derives as recorded', (_name, fixture) => {
    const report = rederive(decisionsOf(fixture));
    expect(report.notes).toEqual([]); // the engine's cycles carry their policy and lottery seed
    expect(report.decisions.filter((d) => !d.ok)).toEqual([]);
  });

  const year = fixtures.find((f) => f.scenario === 'default-year');
  (year ? it : it.skip)('default-year: decisions are found, and a hand-altered score is reported on exactly the decision it feeds', () => {
    const events = decisionsOf(year!);
    const clean = rederive(events);
    expect(clean.decisions.map((d) => d.kind)).toEqual(expect.arrayContaining(['selection', 'narrowing']));
    expect(clean.ok).toBe(true);

    // The lowest-ranked awardee's rival gets full marks from one reviewer in a copy of the events.
    const selection = clean.decisions.find((d) => d.kind === 'selection')!;
    const selected = events.find((e) => e.eventId === selection.eventId)!.data as { notSelected: string[] };
    const rival = selected.notSelected[0];
    expect(rival).toBeDefined();
    const copy = JSON.parse(JSON.stringify(events)) as DecisionSource[];
    const review = copy.find((e) => e.type === 'ReviewSubmitted' && (e.data as { applicationId: string }).applicationId === rival)!;
    const scores = (review.data as { scores: Record<string, number> }).scores;
    for (const k of Object.keys(scores)) scores[k] = 10;
    const differing = rederive(copy).decisions.filter((d) => !d.ok);
    expect(differing.map((d) => d.decisionKey)).toEqual([selection.decisionKey]);
  });
});
