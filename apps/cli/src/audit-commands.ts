/**
 * The auditor's commands: export a cycle to a bundle, and replay, verify, re-derive, cross-check
 * and tell the timeline of a bundle with no server at all (replay runs Temporal's replayer
 * in-process; verify recomputes hashes; re-derive runs libs/domain).
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { databaseUrl, loadEnvironment } from '@concentra/config';
import { EventStore, createDataSource, cycleStateAsOf } from '@concentra/persistence';
import { connectionOptions, quietLogger, workflowBundleOptions } from '@concentra/temporal';
import {
  checkManifest,
  checkProjections,
  crossCheck,
  describeBrokenLink,
  exportCycleBundle,
  formatRederivation,
  formatTimeline,
  grantPrefixOf,
  readBundleFile,
  recordAuditAccess,
  rederive,
  replayBundle,
  timeline,
  verifyChains,
  verifyEventChains,
  writeBundleFile,
  type CycleBundle,
  type ExportProgress,
} from '@concentra/audit';

/** Where output goes and how a failed check is signalled (tests capture both). */
export interface CliIO {
  out(line: string): void;
  err(line: string): void;
  /** A check found a problem: the command exits non-zero. */
  fail(): void;
  /** Show a progress bar (on a terminal). */
  progress: boolean;
}

export const consoleIO: CliIO = {
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  fail: () => {
    process.exitCode = 1;
  },
  progress: Boolean(process.stderr.isTTY),
};

/** The person at the keyboard, recorded with every audit read of the live store. */
function cliActor() {
  return { role: 'auditor', subject: `cli:${process.env.CONCENTRA_AUDITOR ?? userInfo().username}` };
}

async function withDatabase<T>(fn: (db: DataSource) => Promise<T>): Promise<T> {
  const db = await createDataSource(databaseUrl(loadEnvironment()), { applicationName: 'concentra-cli' }).initialize();
  try {
    return await fn(db);
  } finally {
    await db.destroy();
  }
}

async function withTemporal<T>(fn: (client: Client) => Promise<T>): Promise<T> {
  const env = loadEnvironment();
  const connection = await Connection.connect(connectionOptions(env));
  try {
    return await fn(new Client({ connection, namespace: env.TEMPORAL_NAMESPACE }));
  } finally {
    await connection.close();
  }
}

/** A file name, or else a cycle id read from the live store. */
const isBundlePath = (arg: string) => existsSync(arg) || /\.(json|tar)$/.test(arg);

export function registerAuditCommands(program: Command, io: CliIO = consoleIO): Command {
  program
    .command('export')
    .description('Export one cycle (Temporal histories of the cycle and its grants, events, policies, manifest) to a bundle')
    .argument('<cycleId>', 'e.g. cycle:national-ai:2027')
    .option('--out <file>', 'where to write the bundle (default: <cycleId>.json or .tar)')
    .option('--tar', 'write a tar of the parts (manifest.json, workflows/, events/, policies/) instead of one JSON file')
    .action(async (cycleId: string, options: { out?: string; tar?: boolean }) => {
      const out = resolve(options.out ?? `${cycleId.replace(/[^\w.-]+/g, '_')}.${options.tar ? 'tar' : 'json'}`);
      const bar = io.progress ? new SingleBar({ format: 'export |{bar}| {value}/{total} {phase} {label}', hideCursor: true }, Presets.shades_classic) : null;
      let started = false;
      const onProgress = (p: ExportProgress) => {
        if (!bar) return;
        if (!started) {
          bar.start(Math.max(p.total, 1), 0, { phase: p.phase, label: '' });
          started = true;
        }
        bar.setTotal(Math.max(p.total, 1));
        bar.update(p.done, { phase: p.phase, label: p.label ?? '' });
      };
      const bundle = await withDatabase((db) =>
        withTemporal(async (client) => {
          await recordAuditAccess(new EventStore(db), { actor: cliActor(), action: 'export', target: cycleId, details: { out } });
          return exportCycleBundle({ db, client, cycleId, exportedBy: `${cliActor().role}:${cliActor().subject}`, onProgress });
        }),
      ).finally(() => bar?.stop());
      await writeBundleFile(out, bundle, { tar: options.tar });
      io.out(`wrote ${out}: ${bundle.workflows.length} workflow histories, ${bundle.events.length} events, ${bundle.policies.length} policies; manifest root ${bundle.manifest.root}`);
    });

  program
    .command('replay')
    .description('Replay the bundle\'s Temporal histories against the current workflow code (offline); report per workflow')
    .argument('<bundle>', 'a bundle file from `export`')
    .option('--workflows <file>', 'replay against this workflows entry file instead of workflows/src/index.ts (e.g. a release checkout)')
    .action(async (file: string, options: { workflows?: string }) => {
      const bundle = readBundleFile(file);
      const workflowBundle = options.workflows
        ? await bundleWorkflowCode({ ...workflowBundleOptions(), workflowsPath: resolve(options.workflows), logger: quietLogger })
        : undefined;
      const report = await replayBundle(bundle, { workflowBundle });
      for (const w of report.workflows) {
        if (w.ok) io.out(`clean   ${w.workflowId} (run ${w.runId})`);
        else {
          const d = w.divergence!;
          io.out(`DIVERGES ${w.workflowId} (run ${w.runId}): ${d.kind} at history event ${d.eventId ?? '?'} (${d.eventType ?? 'unknown'})`);
          io.out(`         ${d.errorName}: ${d.message}`);
        }
      }
      io.out(`${report.workflows.filter((w) => w.ok).length}/${report.workflows.length} histories replay clean (recorded with SDK ${bundle.temporal.sdkVersion})`);
      if (!report.ok) io.fail();
    });

  program
    .command('verify')
    .description('Walk the hash chains and report the first broken link; with --bundle, check a bundle file offline')
    .option('--bundle <file>', 'verify a bundle (manifest hashes, policy hashes, event chains) instead of the live store')
    .option('--projections', 'also rebuild every projection from zero in a rolled-back transaction and compare it with the live tables')
    .action(async (options: { bundle?: string; projections?: boolean }) => {
      if (options.bundle) {
        const bundle = readBundleFile(options.bundle);
        const manifest = checkManifest(bundle);
        const chains = verifyEventChains(bundle.events);
        for (const p of manifest) io.out(`MANIFEST ${p.problem} ${p.part}${p.expected ? ` expected ${p.expected}` : ''}${p.actual ? ` found ${p.actual}` : ''}`);
        if (chains.firstBroken) io.out(`BROKEN  ${describeBrokenLink(chains.firstBroken)}`);
        io.out(`${chains.streams} streams, ${chains.events} events, ${bundle.manifest.parts.length} manifest parts: ${manifest.length === 0 && chains.ok ? 'intact' : 'NOT intact'}`);
        if (manifest.length > 0 || !chains.ok) io.fail();
        return;
      }
      const [report, projections] = await withDatabase(async (db) => {
        await recordAuditAccess(new EventStore(db), { actor: cliActor(), action: 'verify', target: null });
        return [await verifyChains(db), options.projections ? await checkProjections(db) : null] as const;
      });
      if (projections) {
        for (const d of projections.differences) io.out(`PROJECTION ${d.table}: ${d.onlyBefore.length} live row(s) not rebuilt, ${d.onlyAfter.length} rebuilt row(s) not live`);
        io.out(`projections: rebuild from ${projections.events} events ${projections.ok ? 'equals the live tables' : 'DIFFERS from the live tables'}`);
        if (!projections.ok) io.fail();
      }
      for (const link of report.broken) io.out(`BROKEN  ${describeBrokenLink(link)}`);
      io.out(`${report.streams} streams, ${report.events} events: ${report.ok ? 'every chain holds' : `first broken link: ${report.firstBroken!.streamId} at position ${report.firstBroken!.position}`}`);
      if (!report.ok) io.fail();
    });

  program
    .command('rederive')
    .description('Recompute every decision in a bundle with libs/domain from the inputs its events record; list differences')
    .argument('<bundle>', 'a bundle file from `export`')
    .action((file: string) => {
      const report = rederive(readBundleFile(file).events);
      for (const line of formatRederivation(report)) io.out(line);
      io.out(`${report.decisions.filter((d) => d.ok).length}/${report.decisions.length} decisions re-derive as recorded`);
      if (!report.ok) io.fail();
    });

  program
    .command('cross-check')
    .description('Every decision in the bundle\'s Temporal histories has its domain event, and every domain event its workflow step')
    .argument('<bundle>', 'a bundle file from `export`')
    .action((file: string) => {
      const report = crossCheck(readBundleFile(file));
      for (const p of report.problems) io.out(`PROBLEM ${JSON.stringify(p)}`);
      io.out(`${report.matched}/${report.events} events traced to their workflow step; ${report.pending.length} pending; ${report.problems.length} problems`);
      if (!report.ok) io.fail();
    });

  program
    .command('timeline')
    .description('A readable account of a cycle (who did what when, under which policy), from a bundle or the live store')
    .argument('<cycleIdOrBundle>', 'a cycle id (cycle:<program>:<year>) or a bundle file')
    .action(async (arg: string) => {
      const events = isBundlePath(arg)
        ? readBundleFile(arg).events
        : await withDatabase(async (db) => {
            const store = new EventStore(db);
            await recordAuditAccess(store, { actor: cliActor(), action: 'timeline', target: arg });
            return [...(await store.readStream(arg)), ...(await store.readStreamsWithPrefix(grantPrefixOf(arg)))].sort((a, b) => a.globalPosition - b.globalPosition);
          });
      if (events.length === 0) {
        io.err(`no events for ${arg}`);
        io.fail();
        return;
      }
      for (const line of formatTimeline(timeline(events))) io.out(line);
    });

  program
    .command('state')
    .description("A cycle as its events say it was at a moment, from the live store")
    .argument('<cycleId>')
    .requiredOption('--as-of <timestamp>', 'ISO 8601, e.g. 2027-03-01T12:00:00Z')
    .action(async (cycleId: string, options: { asOf: string }) => {
      const state = await withDatabase(async (db) => {
        const store = new EventStore(db);
        await recordAuditAccess(store, { actor: cliActor(), action: 'state', target: cycleId, details: { asOf: options.asOf } });
        return cycleStateAsOf(store, cycleId, options.asOf);
      });
      io.out(JSON.stringify({ ...state, state: undefined }, null, 2));
    });

  return program;
}

export type { CycleBundle };
