import { eventHash, type StoredEvent } from '@concentra/persistence';
import { checkManifest, sealBundle, BUNDLE_FORMAT, BUNDLE_FORMAT_VERSION, parseBundle } from './bundle';
import { eventTypeName, historyFromPlain, historyToPlain } from './history';
import { divergingEventId } from './replay';
import { formatTimeline, timeline } from './timeline';
import { verifyEventChains } from './verify';

function chain(streamId: string, types: string[], start = 1): StoredEvent[] {
  const events: StoredEvent[] = [];
  types.forEach((type, i) => {
    const base = {
      streamId,
      streamPosition: i + 1,
      eventId: `${streamId}#${i + 1}`,
      type,
      schemaVersion: 1,
      data: { i },
      metadata: { actor: { role: 'program_manager', subject: 'pm-1' }, policyHash: 'ab'.repeat(32) },
      occurredAt: new Date(Date.UTC(2027, 0, 1 + i)).toISOString(),
      recordedAt: new Date(Date.UTC(2027, 0, 1 + i)).toISOString(),
      prevHash: i === 0 ? null : events[i - 1].hash,
    };
    events.push({ ...base, globalPosition: start + i, hash: eventHash(base) });
  });
  return events;
}

describe('verifyEventChains (pure)', () => {
  it('holds for intact chains and names the first broken link of each stream', () => {
    const a = chain('s:a', ['A', 'B', 'C']);
    const b = chain('s:b', ['A', 'B'], 10);
    expect(verifyEventChains([...a, ...b])).toMatchObject({ ok: true, streams: 2, events: 5 });
    const tampered = [...a.map((e) => (e.streamPosition === 3 ? { ...e, data: { i: 99 } } : e)), ...b.map((e) => (e.streamPosition === 1 ? { ...e, type: 'Z' } : e))];
    const report = verifyEventChains(tampered);
    expect(report.broken.map((x) => [x.streamId, x.position, x.problem])).toEqual([
      ['s:a', 3, 'hash_mismatch'],
      ['s:b', 1, 'hash_mismatch'],
    ]);
    expect(report.firstBroken).toMatchObject({ streamId: 's:a', position: 3 });
  });

  it('a stream that does not start at position 1 is incomplete', () => {
    expect(verifyEventChains(chain('s:c', ['A', 'B']).slice(1)).firstBroken).toMatchObject({ problem: 'position_gap', expected: 1, actual: 2 });
  });
});

describe('bundle manifest', () => {
  const bundle = sealBundle({
    format: BUNDLE_FORMAT,
    formatVersion: BUNDLE_FORMAT_VERSION,
    cycleId: 'cycle:x:2027',
    exportedAt: '2030-01-01T00:00:00.000Z',
    exportedBy: null,
    temporal: { namespace: 'default', sdkVersion: '1.24.0' },
    workflows: [],
    events: chain('cycle:x:2027', ['CallOpened']),
    policies: [],
  });

  it('names a policy the events use but the bundle lacks, and a changed part', () => {
    expect(checkManifest(bundle)).toEqual([{ part: `policies/${'ab'.repeat(32)}`, problem: 'policy_missing' }]);
    const changed = { ...bundle, events: [{ ...bundle.events[0], type: 'Other' }] };
    expect(checkManifest(changed).map((p) => p.problem)).toEqual(['hash_mismatch', 'policy_missing']);
  });

  it('refuses what is not a bundle', () => {
    expect(() => parseBundle('{"format":"something-else"}')).toThrow(/not a Concentra cycle bundle/);
    expect(() => parseBundle(JSON.stringify({ ...bundle, formatVersion: 9 }))).toThrow(/version 9/);
  });
});

describe('histories as JSON', () => {
  it('round-trips, and reads PascalCase enums older tools wrote', () => {
    const plain = { events: [{ eventId: '1', eventType: 'WorkflowExecutionStarted', workflowExecutionStartedEventAttributes: { workflowType: { name: 'programCycle' }, taskQueue: { name: 'q', kind: 'Normal' } } }] };
    const history = historyFromPlain(plain);
    expect(eventTypeName(history.events![0])).toBe('WORKFLOW_EXECUTION_STARTED');
    const again = historyToPlain(history) as { events: { eventType: string; workflowExecutionStartedEventAttributes: { taskQueue: { kind: string } } }[] };
    expect(again.events[0].eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
    expect(again.events[0].workflowExecutionStartedEventAttributes.taskQueue.kind).toBe('TASK_QUEUE_KIND_NORMAL');
    expect(historyFromPlain(again)).toEqual(history);
  });

  it('finds the diverging event in the replayer\'s message', () => {
    expect(divergingEventId('[TMPRL1100] Nondeterminism error: Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled)')).toBe(5);
    expect(divergingEventId('something else entirely')).toBeNull();
  });
});

describe('timeline', () => {
  it('orders by time and says who did what under which policy', () => {
    const events = chain('cycle:x:2027', ['CallOpened', 'AwardeesSelected']);
    events[1] = { ...events[1], data: { awardees: ['a1', 'a2'], notSelected: ['a3'], approval: 'policy default', overridden: false } };
    const lines = formatTimeline(timeline([...events].reverse()));
    expect(lines[0]).toMatch(/^2027-01-01T00:00:00.000Z {2}cycle:x:2027 #1 {2}CallOpened {2}by program_manager:pm-1 {2}\[policy abababababab\]/);
    expect(lines[1]).toContain('by policy default');
    expect(lines[1]).toContain('awardees selected: a1, a2; not selected: a3 (policy default, nobody approved in time)');
  });
});
