import { randomBytes } from 'node:crypto';
import { EventStore, PROJECTIONS } from '@concentra/persistence';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import {
  checkManifest,
  checkProjections,
  crossCheck,
  describeBrokenLink,
  exportCycleBundle,
  formatTimeline,
  parseBundle,
  rederive,
  replayBundle,
  timeline,
  verifyChains,
  verifyEventChains,
  type CycleBundle,
} from '../src';
import { adoptDefaultPolicy, connectDevServer, playedYear, POLICY_HASH, scriptedInput, testWorkflowsBundle, type DevServerRun } from './support';

describe('audit tools on real PostgreSQL and the Temporal dev server', () => {
  let database: TestDatabase;
  let temporal: DevServerRun;
  const tag = randomBytes(3).toString('hex');

  beforeAll(async () => {
    [database, temporal] = await Promise.all([createTestDatabase(), connectDevServer()]);
  });
  afterAll(async () => {
    await temporal?.close();
    await database?.drop();
  });

  describe('verify: the hash chains', () => {
    const streams = ['tamper:a', 'tamper:b', 'tamper:c'];
    beforeAll(async () => {
      const store = new EventStore(database.db, PROJECTIONS);
      for (const streamId of streams) {
        for (let n = 1; n <= 3; n++) {
          await store.append(streamId, [{ eventId: `${streamId}#${n}`, type: 'Scored', data: { team: `team-${n}`, score: 70 + n }, metadata: { actor: { role: 'reviewer', subject: 'r-1' } }, occurredAt: '2027-02-01T00:00:00.000Z' }]);
        }
      }
    });

    /** What a superuser can do: switch the trigger off, write, switch it on again. */
    async function asSuperuser(sql: string, params: unknown[]): Promise<void> {
      await database.db.transaction(async (tx) => {
        await tx.query('ALTER TABLE events DISABLE TRIGGER events_no_update_or_delete');
        await tx.query(sql, params);
        await tx.query('ALTER TABLE events ENABLE TRIGGER events_no_update_or_delete');
      });
    }

    it('is clean on untouched chains', async () => {
      const report = await verifyChains(database.db);
      expect(report).toMatchObject({ ok: true, firstBroken: null, broken: [] });
      expect(report.streams).toBeGreaterThanOrEqual(3);
    });

    it('names the stream and position of one changed byte, and is clean again once it is restored', async () => {
      const [{ data: original }] = (await database.db.query(`SELECT data::text AS data FROM events WHERE stream_id = 'tamper:b' AND stream_position = 2`)) as { data: string }[];
      const changed = original.replace('"score": 72', '"score": 92'); // one byte: 7 → 9
      expect(changed).not.toBe(original);
      expect(changed.length).toBe(original.length);
      await asSuperuser(`UPDATE events SET data = $1::jsonb WHERE stream_id = 'tamper:b' AND stream_position = 2`, [changed]);

      const report = await verifyChains(database.db);
      expect(report.ok).toBe(false);
      expect(report.firstBroken).toMatchObject({ streamId: 'tamper:b', position: 2, eventId: 'tamper:b#2', problem: 'hash_mismatch' });
      expect(report.broken).toHaveLength(1); // the events after it still link to its stored hash
      expect(describeBrokenLink(report.firstBroken!)).toContain('tamper:b at position 2');

      await asSuperuser(`UPDATE events SET data = $1::jsonb WHERE stream_id = 'tamper:b' AND stream_position = 2`, [original]);
      expect(await verifyChains(database.db)).toMatchObject({ ok: true, firstBroken: null });
    });

    it('names a link that no longer points at the hash of the event before it', async () => {
      const rows = (await database.db.query(`SELECT prev_hash FROM events WHERE stream_id = 'tamper:c' AND stream_position = 2`)) as { prev_hash: string }[];
      await asSuperuser(`UPDATE events SET prev_hash = $1 WHERE stream_id = 'tamper:c' AND stream_position = 2`, ['0'.repeat(64)]);
      const report = await verifyChains(database.db);
      expect(report.firstBroken).toMatchObject({ streamId: 'tamper:c', position: 2, problem: 'prev_hash_mismatch', actual: '0'.repeat(64) });
      await asSuperuser(`UPDATE events SET prev_hash = $1 WHERE stream_id = 'tamper:c' AND stream_position = 2`, [rows[0].prev_hash]);
      expect((await verifyChains(database.db)).ok).toBe(true);
    });

    it('projections: a rebuild from zero (rolled back) equals the live tables, and a changed row is named', async () => {
      expect(await checkProjections(database.db)).toMatchObject({ ok: true, differences: [] });
      await new EventStore(database.db, PROJECTIONS).append('program:proj-check', [
        {
          eventId: 'program:proj-check#1',
          type: 'ProgramCreated',
          data: { slug: 'proj-check', name: 'Projection check', policy: { any: 'policy' }, policyHash: 'c'.repeat(64) },
          metadata: { actor: { role: 'program_manager', subject: 'pm-1' } },
          occurredAt: '2027-01-01T00:00:00.000Z',
        },
      ]);
      await database.db.query(`UPDATE programs SET name = 'Renamed behind the events' WHERE slug = 'proj-check'`);
      const report = await checkProjections(database.db);
      expect(report.ok).toBe(false);
      expect(report.differences.map((d) => d.table)).toEqual(['programs']);
      // Nothing was changed by the check: the altered row is still there.
      expect((await database.db.query(`SELECT name FROM programs WHERE slug = 'proj-check'`))[0].name).toBe('Renamed behind the events');
      await new EventStore(database.db, PROJECTIONS).rebuildProjections();
      expect((await checkProjections(database.db)).ok).toBe(true);
    });

    it('names a removed event as a gap', async () => {
      const events = await new EventStore(database.db).readStream('tamper:a');
      const report = verifyEventChains(events.filter((e) => e.streamPosition !== 2));
      expect(report.firstBroken).toMatchObject({ streamId: 'tamper:a', position: 3, problem: 'position_gap', expected: 2, actual: 3 });
    });
  });

  describe('export, replay, cross-check, timeline and re-derive of one cycle', () => {
    const skeletonId = `cycle:audit-skel-${tag}:2027`;
    const yearId = `cycle:audit-year-${tag}:2027`;
    const grantId = `grant:audit-year-${tag}:2027:a1`;
    let skeleton: CycleBundle;
    let year: CycleBundle;

    beforeAll(async () => {
      await adoptDefaultPolicy(database.db, `audit-${tag}`);
      const taskQueue = `audit-${tag}`;
      await temporal.withWorker(database.db, taskQueue, async () => {
        const first = await temporal.client.workflow.start('programCycle', {
          workflowId: skeletonId,
          taskQueue,
          args: [{ programSlug: `audit-skel-${tag}`, year: 2027, policyHash: POLICY_HASH, startedBy: { role: 'program_manager', subject: 'pm-1' }, callMs: 1000 }],
        });
        const second = await temporal.client.workflow.start('scriptedCycle', { workflowId: yearId, taskQueue, args: [scriptedInput(playedYear())] });
        // A grant of the year's cycle, found by its workflow id prefix (grant:<program>:<year>:).
        const grant = await temporal.client.workflow.start('programCycle', {
          workflowId: grantId,
          taskQueue,
          args: [{ programSlug: `audit-year-${tag}`, year: 2027, policyHash: POLICY_HASH, startedBy: { role: 'system', subject: 'workflow' }, callMs: 0 }],
        });
        await Promise.all([first.result(), second.result(), grant.result()]);
      });
      const progress: string[] = [];
      skeleton = await exportCycleBundle({ db: database.db, client: temporal.client, cycleId: skeletonId, exportedBy: 'auditor-1', onProgress: (p) => progress.push(p.phase) });
      year = await exportCycleBundle({ db: database.db, client: temporal.client, cycleId: yearId });
      expect(progress).toEqual(expect.arrayContaining(['events', 'policies', 'workflows', 'done']));
    });

    it('exports histories, events, policies and a manifest whose hashes check out', () => {
      expect(skeleton.workflows.map((w) => w.workflowId)).toEqual([skeletonId]);
      expect(skeleton.events.map((e) => e.type)).toEqual(['CallOpened', 'CallClosed']);
      expect(skeleton.policies.map((p) => p.hash)).toEqual([POLICY_HASH]);
      expect(skeleton.manifest.parts.map((p) => p.name)).toEqual([`workflows/${skeletonId}/${skeleton.workflows[0].runId}`, `events/${skeletonId}`, `policies/${POLICY_HASH}`]);
      expect(checkManifest(skeleton)).toEqual([]);
      // Through a file and back: still intact.
      expect(checkManifest(parseBundle(JSON.stringify(skeleton)))).toEqual([]);
    });

    it('a changed part of a bundle is named by the manifest check', () => {
      const copy = JSON.parse(JSON.stringify(skeleton)) as CycleBundle;
      (copy.events[1].data as { applications: number }).applications = 7;
      expect(checkManifest(copy)).toEqual([expect.objectContaining({ part: `events/${skeletonId}`, problem: 'hash_mismatch' })]);
      expect(verifyEventChains(copy.events).firstBroken).toMatchObject({ streamId: skeletonId, position: 2, problem: 'hash_mismatch' });
    });

    it("includes the cycle's grants: their histories (found by workflow id prefix) and their streams", () => {
      expect(year.workflows.map((w) => w.workflowId)).toEqual([yearId, grantId]);
      expect(year.events.filter((e) => e.streamId === grantId).map((e) => e.type)).toEqual(['CallOpened', 'CallClosed']);
      expect(year.manifest.parts.map((p) => p.name.split('/')[0])).toEqual(['workflows', 'workflows', 'events', 'events', 'policies']);
    });

    it('replays every history in the bundle against the workflow code, offline', async () => {
      const report = await replayBundle(year, { workflowBundle: await testWorkflowsBundle() });
      expect(report.workflows).toEqual([expect.objectContaining({ workflowId: yearId, ok: true }), expect.objectContaining({ workflowId: grantId, ok: true })]);
      expect((await replayBundle(skeleton, { workflowBundle: await testWorkflowsBundle() })).ok).toBe(true);
    });

    it('cross-checks both ways: each recordEvents step has its stored event, each event its step', () => {
      const report = crossCheck(year);
      expect(report).toMatchObject({ ok: true, problems: [], pending: [] });
      expect(report.steps).toBe(year.events.length);
      expect(report.matched).toBe(year.events.length);
    });

    it('cross-check names a domain event no workflow step wrote, and a step whose event is missing', () => {
      const forged = { ...year.events[0], eventId: `${yearId}#999`, streamPosition: 999 };
      const dropped = year.events.slice(0, -1);
      const report = crossCheck({ workflows: year.workflows, events: [...dropped, forged] });
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ problem: 'untraced', eventId: `${yearId}#999` }),
          expect.objectContaining({ problem: 'missing_in_store', eventId: year.events[year.events.length - 1].eventId }),
        ]),
      );
      const altered = JSON.parse(JSON.stringify(year.events)) as CycleBundle['events'];
      (altered[3].data as Record<string, unknown>).title = 'rewritten';
      expect(crossCheck({ workflows: year.workflows, events: altered }).problems).toEqual([
        expect.objectContaining({ problem: 'content_differs', eventId: altered[3].eventId, field: 'data' }),
      ]);
    });

    it('re-derives every decision of the bundle with libs/domain, all matching', () => {
      const report = rederive(year.events);
      expect(report.decisions.map((d) => [d.decisionKey, d.ok])).toEqual([
        ['review:1', true],
        ['selection', true],
        ['narrowing:1', true],
      ]);
      expect(rederive(skeleton.events)).toMatchObject({ ok: true, decisions: [] });
    });

    it('tells the story: who did what when, under which policy', () => {
      const lines = formatTimeline(timeline(year.events));
      expect(lines).toHaveLength(year.events.length);
      expect(lines.find((l) => l.includes('AwardeesSelected'))).toMatch(/by pm-1 .*\[policy [0-9a-f]{12}\].*awardees selected: a1, a2, a3, a4, a5; not selected: a6 \(approved by pm-1\)/);
      expect(lines.find((l) => l.includes('ReviewSubmitted'))).toMatch(/by reviewer-1/);
      expect(formatTimeline(timeline(skeleton.events))[0]).toMatch(/CallOpened {2}by program_manager:pm-1/);
    });
  });
});
