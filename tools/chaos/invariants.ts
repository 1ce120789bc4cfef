/**
 * The chaos suite's invariant checker, usable on its own (the integration test calls it too): given
 * a database, a Temporal client and the cycles a run drove, it proves or lists what broke.
 *
 *   cycle_closed            every cycle's workflow completed with stage `closed`; its grants completed
 *   events_match_histories  the stored events equal the `recordEvents` inputs in the histories (libs/audit cross-check)
 *   stream_positions        no gap or duplicate: event `<stream>#k` at position k, each decision once
 *   gpu_allocations         at most one allocation per grant, none live at the end, ledger events all appended
 *   reminders               every reminder the domain plans (`plannedReminders`) that fell due before the cycle
 *                           closed is in the notification outbox, every outbox key once
 *   hash_chains             every stream's hash chain holds (libs/audit verify)
 *   replay                  every history (cycle runs and grants) replays against the current workflow bundle
 *
 * A problem here is a finding about the system. A failure to check (Temporal unreachable, a
 * history that cannot be read) is reported as a checker error instead, never as a pass.
 */
import type { Client } from '@temporalio/client';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { crossCheck, exportCycleBundle, historyFromPlain, replayBundle, verifyChains, describeBrokenLink, EventType, type CycleBundle } from '@concentra/audit';
import { evolve, initialState, plannedReminders, type CycleEvent, type CycleState, type Reminder } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';
import { bundleWorkflows } from '@concentra/temporal';

export const INVARIANTS = ['cycle_closed', 'events_match_histories', 'stream_positions', 'gpu_allocations', 'reminders', 'hash_chains', 'replay'] as const;
export type Invariant = (typeof INVARIANTS)[number];

export interface Problem {
  invariant: Invariant;
  /** The cycle, workflow or stream it is about. */
  subject: string;
  detail: string;
}

export interface InvariantReport {
  ok: boolean;
  problems: Problem[];
  /** The checker could not check something: neither a pass nor a finding. */
  checkerErrors: string[];
  /** What was checked, per invariant, for the report. */
  checked: Record<Invariant, string>;
}

export interface CheckOptions {
  db: DataSource;
  client: Client;
  cycleIds: string[];
  /** Bundled once by the caller when it checks several times; else bundled here from workflows/src. */
  workflowBundle?: WorkflowBundleWithSourceMap;
  log?: (line: string) => void;
}

/** Decisions that are taken once per natural key: a second one with the same key is a duplicate. */
const ONCE_PER: Record<string, (data: Record<string, unknown>) => unknown> = {
  CallOpened: () => 'once',
  CallClosed: () => 'once',
  ApplicationSubmitted: (d) => d.applicationId,
  ReviewSubmitted: (d) => d.reviewId,
  EvaluationScoresSubmitted: (d) => d.scoreSetId,
  ModelSubmitted: (d) => `${String(d.applicationId)}@${String(d.round)}`,
  AwardeesSelected: () => 'once',
  GrantStarted: (d) => d.grantId,
  GrantEnded: (d) => d.grantId,
  TeamEliminated: (d) => d.applicationId,
  ProcurementAwarded: (d) => d.contractId,
  ModelReleased: (d) => d.applicationId,
  CycleClosed: () => 'once',
};

export async function checkInvariants(options: CheckOptions): Promise<InvariantReport> {
  const { db, client, cycleIds } = options;
  const log = options.log ?? (() => undefined);
  const problems: Problem[] = [];
  const checkerErrors: string[] = [];
  const counts = { cycles: 0, closed: 0, workflows: 0, runs: 0, steps: 0, matched: 0, streams: 0, events: 0, grants: 0, allocations: 0, remindersDue: 0, remindersWritten: 0, remindersExtra: 0, replayed: 0 };
  const add = (invariant: Invariant, subject: string, detail: string) => problems.push({ invariant, subject, detail });

  const bundles: CycleBundle[] = [];
  for (const cycleId of cycleIds) {
    counts.cycles += 1;
    log(`checking ${cycleId} ...`);
    let bundle: CycleBundle;
    try {
      bundle = await exportCycleBundle({ db, client, cycleId, exportedBy: 'chaos-checker' });
    } catch (error) {
      checkerErrors.push(`${cycleId}: could not export its histories and events: ${(error as Error).message}`);
      continue;
    }
    bundles.push(bundle);
    const closed = await checkClosed(client, cycleId, bundle, add, checkerErrors);
    if (closed) counts.closed += 1;
    counts.workflows += new Set(bundle.workflows.map((w) => w.workflowId)).size;
    counts.runs += bundle.workflows.length;

    // events_match_histories
    const cross = crossCheck(bundle);
    counts.steps += cross.steps;
    counts.matched += cross.matched;
    for (const p of cross.problems) {
      const where = 'step' in p ? ` (workflow ${p.step.workflowId} run ${p.step.runId}, history event ${p.step.scheduledEventId})` : '';
      const what =
        p.problem === 'content_differs' ? `stored ${p.field} differs from what the workflow recorded` :
        p.problem === 'missing_in_store' ? 'recorded by a completed recordEvents step but not in the store' :
        p.problem === 'untraced' ? `stored at ${p.streamId}#${p.position} but no workflow history carries it` :
        `stored by run ${p.storedRunId ?? 'unknown'}, history run ${p.expectedRunId}`;
      add('events_match_histories', cycleId, `${p.eventId} ${p.type}: ${what}${where}`);
    }
    if (closed) for (const id of cross.pending) add('events_match_histories', cycleId, `${id}: a recordEvents step never completed and its event is not stored, yet the cycle completed`);

    // stream_positions
    const streams = groupBy(bundle.events, (e) => e.streamId);
    for (const [streamId, events] of streams) {
      counts.streams += 1;
      counts.events += events.length;
      events.sort((a, b) => a.streamPosition - b.streamPosition);
      events.forEach((e, i) => {
        if (e.streamPosition !== i + 1) add('stream_positions', streamId, `position ${i + 1} expected, ${e.streamPosition} stored (${e.eventId})`);
        const recorder = e.metadata.workflowId === streamId;
        if (recorder && e.eventId !== `${streamId}#${e.streamPosition}`) add('stream_positions', streamId, `event ${e.eventId} stored at position ${e.streamPosition}: the workflow's numbering and the stream disagree (a skipped or repeated decision)`);
      });
      const seen = new Map<string, StoredEvent>();
      for (const e of events) {
        const keyOf = ONCE_PER[e.type];
        const key = keyOf?.(e.data);
        if (key === undefined || key === null) continue;
        const k = `${e.type}/${String(key)}`;
        const first = seen.get(k);
        if (first) add('stream_positions', streamId, `${e.type} for ${String(key)} recorded twice: ${first.eventId} and ${e.eventId}`);
        else seen.set(k, e);
      }
    }

    await checkGpu(db, cycleId, bundle, add, counts);
    await checkReminders(db, cycleId, bundle, add, checkerErrors, counts);
  }

  // notification keys are unique (the table's constraint says so; the checker does not take it on trust)
  const dupKeys = (await db.query(`SELECT key, count(*)::int AS n FROM notification_outbox GROUP BY key HAVING count(*) > 1`)) as { key: string; n: number }[];
  for (const d of dupKeys) add('reminders', d.key, `notification written ${d.n} times`);

  // hash_chains
  const chains = await verifyChains(db);
  for (const link of chains.broken) add('hash_chains', link.streamId, describeBrokenLink(link));

  // replay
  try {
    const workflowBundle = options.workflowBundle ?? (await bundleWorkflows());
    for (const bundle of bundles) {
      const replay = await replayBundle(bundle, { workflowBundle });
      for (const w of replay.workflows) {
        counts.replayed += 1;
        if (!w.ok) add('replay', `${w.workflowId} run ${w.runId}`, `${w.divergence?.kind ?? 'failure'} at history event ${w.divergence?.eventId ?? '?'} (${w.divergence?.eventType ?? '?'}): ${firstLine(w.divergence?.message ?? '')}`);
      }
    }
  } catch (error) {
    checkerErrors.push(`could not replay the histories: ${(error as Error).message}`);
  }

  const checked: Record<Invariant, string> = {
    cycle_closed: `${counts.closed} of ${counts.cycles} cycles closed; ${counts.workflows} workflows (${counts.runs} runs)`,
    events_match_histories: `${counts.steps} recordEvents inputs, ${counts.matched} matched stored events`,
    stream_positions: `${counts.streams} workflow streams, ${counts.events} events`,
    gpu_allocations: `${counts.grants} grants, ${counts.allocations} allocations`,
    reminders: `${counts.remindersDue} reminders fell due, ${counts.remindersWritten} reminders written (${counts.remindersExtra} written outside the checker's due windows, not counted as problems)`,
    hash_chains: `${chains.streams} streams, ${chains.events} events`,
    replay: `${counts.replayed} histories replayed`,
  };
  return { ok: problems.length === 0 && checkerErrors.length === 0, problems, checkerErrors, checked };
}

/** The cycle's workflow completed as `closed`, and so did every grant it started; otherwise, why not. */
async function checkClosed(client: Client, cycleId: string, bundle: CycleBundle, add: (i: Invariant, s: string, d: string) => void, errors: string[]): Promise<boolean> {
  let closed = false;
  try {
    const handle = client.workflow.getHandle(cycleId);
    const d = await handle.describe();
    if (d.status.name === 'COMPLETED') {
      const result = (await handle.result()) as { stage?: string };
      if (result?.stage === 'closed') closed = true;
      else add('cycle_closed', cycleId, `the workflow completed at stage '${result?.stage ?? '?'}', not 'closed'`);
    } else {
      add('cycle_closed', cycleId, `the workflow is ${d.status.name}${diagnose(bundle, cycleId)}`);
    }
  } catch (error) {
    errors.push(`${cycleId}: could not describe the workflow: ${(error as Error).message}`);
  }
  const grantIds = [...new Set(bundle.workflows.map((w) => w.workflowId).filter((id) => id !== cycleId))];
  for (const id of grantIds) {
    try {
      const d = await client.workflow.getHandle(id).describe();
      if (d.status.name !== 'COMPLETED') add('cycle_closed', id, `the grant workflow is ${d.status.name}${diagnose(bundle, id)}`);
    } catch (error) {
      errors.push(`${id}: could not describe the workflow: ${(error as Error).message}`);
    }
  }
  return closed;
}

/** The last workflow-task failure in the latest run's history, if any: why a running workflow does not move. */
function diagnose(bundle: CycleBundle, workflowId: string): string {
  const runs = bundle.workflows.filter((w) => w.workflowId === workflowId);
  const last = runs[runs.length - 1];
  if (!last) return '';
  try {
    const events = historyFromPlain(last.history).events ?? [];
    const failures = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    const f = failures[failures.length - 1];
    const message = f?.workflowTaskFailedEventAttributes?.failure?.message;
    const lastEvent = events[events.length - 1];
    const tail = lastEvent ? `; its history ends at event ${String(lastEvent.eventId)} (${EventType[lastEvent.eventType ?? 0]?.replace(/^EVENT_TYPE_/, '')})` : '';
    return message ? `; its last workflow task failed (history event ${String(f.eventId)}, ${failures.length} failed tasks): ${firstLine(message)}${tail}` : tail;
  } catch {
    return '';
  }
}

async function checkGpu(db: DataSource, cycleId: string, bundle: CycleBundle, add: (i: Invariant, s: string, d: string) => void, counts: { grants: number; allocations: number }): Promise<void> {
  const prefix = `grant:${cycleId.replace(/^cycle:/, '')}:`;
  const rows = (await db.query(`SELECT id, grant_id, status FROM gpu_allocations WHERE starts_with(grant_id, $1) ORDER BY grant_id, requested_at`, [prefix])) as { id: string; grant_id: string; status: string }[];
  counts.allocations += rows.length;
  const byGrant = groupBy(rows, (r) => r.grant_id);
  counts.grants += byGrant.size;
  for (const [grantId, allocations] of byGrant) {
    const held = allocations.filter((a) => a.status !== 'refused');
    if (held.length > 1) add('gpu_allocations', grantId, `${held.length} allocations: ${held.map((a) => `${a.id} (${a.status})`).join(', ')}`);
    for (const a of allocations.filter((x) => ['requested', 'reserved', 'active'].includes(x.status))) add('gpu_allocations', grantId, `allocation ${a.id} is still ${a.status} at the end`);
  }
  const started = bundle.events.filter((e) => e.streamId === cycleId && e.type === 'GrantStarted');
  for (const e of started) {
    const { grantId, allocationId } = e.data as { grantId: string; allocationId: string | null };
    if (allocationId && !rows.some((r) => r.id === allocationId)) add('gpu_allocations', grantId, `GrantStarted names allocation ${allocationId}, which the ledger does not hold`);
  }
  const unsent = (await db.query(`SELECT stream_id, count(*)::int AS n FROM gpu_event_outbox WHERE appended_at IS NULL AND starts_with(stream_id, $1) GROUP BY stream_id`, [`gpu:${prefix}`])) as { stream_id: string; n: number }[];
  for (const u of unsent) add('gpu_allocations', u.stream_id, `${u.n} ledger events never reached the event store`);
}

/**
 * Folds the cycle's stored events with the domain's `evolve`, batch by batch (one batch: one
 * occurredAt). A reminder the domain plans in a state is due when its instant falls strictly between
 * the batch that created that state and the next batch: the obligation stood when it came due.
 *
 * A due reminder must be written unless its obligation was met before the cycle acted on it: when
 * no worker ran at the reminder's instant and the person's command reached the cycle before the
 * cycle's timer did, nobody is reminded of what they have done. So a due reminder is required when
 * a deadline's passing (a batch caused by DeadlinePassed) ended its obligation unmet (the person
 * missed the deadline), or when it was still owed when the cycle closed; and every written reminder
 * must be one the domain planned. Duplicates are caught by the outbox key check above.
 */
async function checkReminders(
  db: DataSource,
  cycleId: string,
  bundle: CycleBundle,
  add: (i: Invariant, s: string, d: string) => void,
  errors: string[],
  counts: { remindersDue: number; remindersWritten: number; remindersExtra: number },
): Promise<void> {
  const events = bundle.events.filter((e) => e.streamId === cycleId).sort((a, b) => a.streamPosition - b.streamPosition);
  const due = new Map<string, Reminder>();
  const missed = new Set<string>();
  const ever = new Set<string>();
  try {
    let state: CycleState = initialState;
    let i = 0;
    while (i < events.length) {
      const at = Date.parse(events[i].occurredAt);
      const byDeadline = events[i].metadata?.causationId === 'DeadlinePassed';
      const before = new Set(plannedReminders(state).map((r) => r.key));
      for (; i < events.length && Date.parse(events[i].occurredAt) === at; i++) {
        state = evolve(state, { type: events[i].type, data: events[i].data } as unknown as CycleEvent);
      }
      const planned = plannedReminders(state);
      for (const r of planned) ever.add(r.key);
      const after = new Set(planned.map((r) => r.key));
      if (byDeadline) for (const key of before) if (!after.has(key)) missed.add(key);
      const next = i < events.length ? Date.parse(events[i].occurredAt) : null;
      if (next === null) {
        for (const key of after) missed.add(key); // still owed when the cycle ended
        break;
      }
      for (const r of planned) {
        const t = Date.parse(r.at);
        if (t > at && t < next) due.set(r.key, r);
      }
    }
  } catch (error) {
    errors.push(`${cycleId}: could not fold its events with the domain's evolve: ${(error as Error).message}`);
    return;
  }
  const written = (await db.query(`SELECT key FROM notification_outbox WHERE cycle_id = $1 AND kind = 'reminder'`, [cycleId])) as { key: string }[];
  const keys = new Set(written.map((w) => w.key));
  counts.remindersDue += due.size;
  counts.remindersWritten += written.length;
  counts.remindersExtra += [...keys].filter((k) => !due.has(k)).length;
  for (const key of keys) if (!ever.has(key)) add('reminders', cycleId, `reminder ${key} was written but the domain never planned it`);
  for (const r of due.values()) {
    if (!keys.has(r.key) && missed.has(r.key)) {
      const who = [r.recipient.role, r.recipient.subject ?? r.recipient.organisationId].filter(Boolean).join(' ');
      add('reminders', cycleId, `reminder due ${r.at} (${r.offset} before ${r.deadline} at ${r.dueAt}) to ${who} was never written [${r.key}]`);
    }
  }
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

function firstLine(text: string): string {
  const line = text.split('\n')[0];
  return line.length > 400 ? `${line.slice(0, 400)}...` : line;
}

/** The report as text: one line per invariant, then every problem. */
export function formatInvariantReport(report: InvariantReport): string {
  const lines: string[] = [];
  for (const invariant of INVARIANTS) {
    const found = report.problems.filter((p) => p.invariant === invariant);
    lines.push(`  ${found.length === 0 ? 'ok  ' : 'FAIL'} ${invariant.padEnd(24)} ${report.checked[invariant]}${found.length ? `; ${found.length} problem(s)` : ''}`);
  }
  if (report.problems.length > 0) {
    lines.push('', `Problems (${report.problems.length}):`);
    for (const p of report.problems) lines.push(`  - [${p.invariant}] ${p.subject}: ${p.detail}`);
  }
  if (report.checkerErrors.length > 0) {
    lines.push('', `Checker errors (${report.checkerErrors.length}; these are not findings, the checker could not look):`);
    for (const e of report.checkerErrors) lines.push(`  - ${e}`);
  }
  return lines.join('\n');
}
