import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { freePort, portOpen, startDevServer, type DevServer } from '@concentra/tools/temporal-dev-server';
import { registerAuditCommands, type CliIO } from '../../../apps/cli/src/audit-commands';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database';
import { readBundleFile, type CycleBundle } from '../src';
import { adoptDefaultPolicy, connectDevServer, playedYear, scriptedInput, TEST_WORKFLOWS_PATH } from './support';

/**
 * The CLI end to end: export a cycle from a Temporal dev server and PostgreSQL, stop the Temporal
 * server, then replay, verify, re-derive, cross-check and tell the timeline from the file alone.
 */
describe('concentra CLI: export, then audit the bundle offline', () => {
  let server: DevServer;
  let database: TestDatabase;
  let dir: string;
  const tag = randomBytes(3).toString('hex');
  const cycleId = `cycle:cli-${tag}:2027`;
  const jsonFile = () => join(dir, 'bundle.json');
  const tarFile = () => join(dir, 'bundle.tar');
  let exported: { json: { lines: string[]; failed: boolean }; tar: { lines: string[]; failed: boolean } };

  /** Runs one command as `concentra <args>` would, capturing its output and whether it failed. */
  async function cli(...args: string[]): Promise<{ lines: string[]; failed: boolean }> {
    const lines: string[] = [];
    let failed = false;
    const io: CliIO = { out: (l) => lines.push(l), err: (l) => lines.push(l), fail: () => (failed = true), progress: false };
    await registerAuditCommands(new Command('concentra').exitOverride(), io).parseAsync(args, { from: 'user' });
    return { lines, failed };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'concentra-cli-audit-'));
    const port = await freePort();
    [server, database] = await Promise.all([startDevServer({ port, logFile: join(dir, 'temporal.log') }), createTestDatabase()]);
    Object.assign(process.env, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: server.address, CONCENTRA_AUDITOR: 'inspector-cli' });
    await adoptDefaultPolicy(database.db, `cli-${tag}`);
    const temporal = await connectDevServer(server.address);
    try {
      await temporal.withWorker(database.db, `cli-${tag}`, async () => {
        const handle = await temporal.client.workflow.start('scriptedCycle', { workflowId: cycleId, taskQueue: `cli-${tag}`, args: [scriptedInput(playedYear(), 10)] });
        await handle.result();
      });
    } finally {
      await temporal.close();
    }
    exported = { json: await cli('export', cycleId, '--out', jsonFile()), tar: await cli('export', cycleId, '--out', tarFile(), '--tar') };
  });

  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('exports the cycle to a JSON bundle and a tar, and records who exported it', async () => {
    const { json, tar } = exported;
    expect(json.lines[0]).toMatch(/^wrote .*bundle\.json: 1 workflow histories, \d+ events, 1 policies; manifest root [0-9a-f]{64}$/);
    expect(tar.failed).toBe(false);
    const fromJson = readBundleFile(jsonFile());
    const fromTar = readBundleFile(tarFile());
    expect(fromTar.manifest).toEqual(fromJson.manifest);
    expect(fromTar.events).toEqual(fromJson.events);
    expect(fromTar.workflows).toEqual(fromJson.workflows);
    const log = (await database.db.query(`SELECT data, metadata FROM events WHERE type = 'AuditAccessed' ORDER BY global_position`)) as { data: { action: string; target: string }; metadata: { actor: { subject: string } } }[];
    expect(log.map((r) => [r.data.action, r.data.target, r.metadata.actor.subject])).toEqual([
      ['export', cycleId, 'cli:inspector-cli'],
      ['export', cycleId, 'cli:inspector-cli'],
    ]);
  });

  it('verifies the live store: every chain holds, and the projections rebuild to the live tables', async () => {
    const result = await cli('verify', '--projections');
    expect(result.failed).toBe(false);
    expect(result.lines).toEqual([
      expect.stringMatching(/^projections: rebuild from \d+ events equals the live tables$/),
      expect.stringMatching(/^\d+ streams, \d+ events: every chain holds$/),
    ]);
  });

  describe('with the Temporal server stopped', () => {
    beforeAll(async () => {
      const port = Number(server.address.split(':')[1]);
      await server.stop();
      expect(await portOpen(port)).toBe(false);
    });

    it.each([['JSON', jsonFile], ['tar', tarFile]])('replays the %s bundle\'s history against the workflow code: clean', async (_kind, file) => {
      const result = await cli('replay', file(), '--workflows', TEST_WORKFLOWS_PATH);
      expect(result.failed).toBe(false);
      expect(result.lines).toEqual([expect.stringMatching(new RegExp(`^clean {3}${cycleId} \\(run [0-9a-f-]{36}\\)$`)), '1/1 histories replay clean (recorded with SDK 1.24.0)']);
    });

    it('verifies the bundle: manifest, policy hashes and event chains intact', async () => {
      const result = await cli('verify', '--bundle', jsonFile());
      expect(result).toEqual({ failed: false, lines: [expect.stringMatching(/^1 streams, \d+ events, 3 manifest parts: intact$/)] });
    });

    it('re-derives every decision in the bundle: all as recorded', async () => {
      const result = await cli('rederive', tarFile());
      expect(result.failed).toBe(false);
      expect(result.lines.filter((l) => l.startsWith('ok'))).toHaveLength(3);
      expect(result.lines[result.lines.length - 1]).toBe('3/3 decisions re-derive as recorded');
    });

    it('cross-checks the histories against the events, and tells the timeline', async () => {
      const cross = await cli('cross-check', jsonFile());
      expect(cross.failed).toBe(false);
      expect(cross.lines[cross.lines.length - 1]).toMatch(/^(\d+)\/\1 events traced to their workflow step; 0 pending; 0 problems$/);
      const story = await cli('timeline', jsonFile());
      expect(story.lines.some((l) => /TeamsNarrowed {2}by pm-1 .*narrowing 1: kept a1, a2; dropped a3, a4, a5/.test(l))).toBe(true);
    });

    it('a hand-altered score in a copy: verify names the part and the event, re-derive names exactly the decision', async () => {
      const bundle = JSON.parse(readFileSync(jsonFile(), 'utf8')) as CycleBundle;
      const review = bundle.events.find((e) => e.type === 'ReviewSubmitted' && (e.data as { applicationId: string }).applicationId === 'a6')!;
      (review.data as { scores: Record<string, number> }).scores = { technical: 10, team: 10, impact: 10 };
      const altered = join(dir, 'altered.json');
      writeFileSync(altered, JSON.stringify(bundle));

      const verify = await cli('verify', '--bundle', altered);
      expect(verify.failed).toBe(true);
      expect(verify.lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(new RegExp(`^MANIFEST hash_mismatch events/${escape(cycleId)} expected [0-9a-f]{64} found [0-9a-f]{64}$`)),
          expect.stringMatching(new RegExp(`^BROKEN {2}${cycleId} at position ${review.streamPosition} \\(${escape(review.eventId)}\\)`)),
        ]),
      );
      const rederived = await cli('rederive', altered);
      expect(rederived.failed).toBe(true);
      expect(rederived.lines.filter((l) => l.startsWith('DIFFERS')).map((l) => l.split(' ')[2])).toEqual(['selection']);
    });
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
