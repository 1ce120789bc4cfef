/**
 * Printing the scale section (bench/scale-call.ts): every line a ratio against its same-run
 * baseline, then the absolute figures; the workflow budgets with PASS/FAIL.
 */
import type { PhaseResult } from './scale-api';
import type { LoadResult } from './scale-baselines';
import type { ScaleReport } from './scale-call';
import { EVENTS_BUDGET, PAYLOAD_BUDGET_BYTES, kb } from './scale-history';

// ---------------------------------------------------------------------------------------------
// Printing, in the style of bench/run.ts

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

export function phaseLine(p: PhaseResult): string {
  const rate = p.ok / Math.max(p.seconds, 1e-9);
  const failed = [...p.failures.values()].reduce((a, b) => a + b, 0);
  return `${p.name.padEnd(14)} ${String(p.ok).padStart(5)}/${p.planned} ok, ${failed} refused, ${p.retried} after retry, in ${p.seconds.toFixed(1)} s   ${rate.toFixed(2).padStart(7)} /s   p50 ${percentile(p.latenciesMs, 0.5).toFixed(2)} ms (p99 ${percentile(p.latenciesMs, 0.99).toFixed(2)})`;
}

const rateOf = (p: PhaseResult) => p.ok / Math.max(p.seconds, 1e-9);
const x = (ratio: number) => `${ratio.toFixed(2).padStart(7)}x`;

/** A command phase against the same bodies sent to a bare Nest route by as many clients. */
function comparedPhase(ours: PhaseResult, bare: PhaseResult | undefined): string[] {
  if (!bare) return [`  ${phaseLine(ours)}`];
  const p50 = percentile(ours.latenciesMs, 0.5) / percentile(bare.latenciesMs, 0.5);
  const p99 = percentile(ours.latenciesMs, 0.99) / percentile(bare.latenciesMs, 0.99);
  return [
    `  ${ours.name.padEnd(14)} p50 ${x(p50)}  p99 ${x(p99)}  throughput ${x(rateOf(bare) / Math.max(rateOf(ours), 1e-9))} slower   vs bare Nest POST of the same bodies`,
    `      ours  ${phaseLine(ours)}`,
    `      bare  ${phaseLine(bare)}`,
  ];
}

function loadLine(l: LoadResult): string {
  return `${l.path.slice(0, 44).padEnd(44)} ${l.perSecond.toFixed(0).padStart(6)} req/s   p50 ${String(l.p50).padStart(4)} ms   p99 ${String(l.p99).padStart(4)} ms   ${l.requests} requests, ${l.non2xx} non-2xx, ${l.errors} errors`;
}

function printBaselines(r: ScaleReport): void {
  const b = r.baselines;
  console.log('  against same-run baselines (ours / baseline, then the absolute figures):');
  for (const p of r.phases) if (p.name !== 'approval') for (const line of comparedPhase(p, b.phases.get(p.name))) console.log(line);
  const grants = r.waits.find((w) => w.what.endsWith('grants to start'));
  if (grants && b.grantsSeconds) {
    console.log(
      `  grants active    ${x(grants.seconds / b.grantsSeconds)}   ${r.grantsStarted} grants active ${grants.seconds.toFixed(1)} s after approval   bare: ${r.options.selected} workflows × 1 activity started at once ${b.grantsSeconds.toFixed(1)} s`,
    );
  }
  if (b.poolLatency) {
    const [ours, bare] = [percentile(b.poolLatency.ours, 0.5), percentile(b.poolLatency.bare, 0.5)];
    console.log(`  GET /v1/gpu/pool ${x(ours / bare)}   p50 ${ours.toFixed(2)} ms with ${r.grantsStarted} allocations, one request at a time   bare GET p50 ${bare.toFixed(2)} ms`);
  }
  for (const { ours, bare } of b.reads) {
    console.log(`  autocannon 100 connections: p50 ${x(ours.p50 / Math.max(bare.p50, 0.5))} p99 ${x(ours.p99 / Math.max(bare.p99, 0.5))}  req/s ${x(bare.perSecond / Math.max(ours.perSecond, 1e-9))} fewer`);
    console.log(`      ours  ${loadLine(ours)}`);
    console.log(`      bare  ${loadLine(bare)}`);
  }
}

const mark = (ok: boolean) => (ok ? 'PASS' : 'FAIL');

/** Prints the report; returns whether everything is within the budget and the cycle reached its grants. */
export function printScaleReport(r: ScaleReport): boolean {
  const o = r.options;
  console.log(
    `\nConcentra scale: ${o.applications} applications × ${o.summaryChars.toLocaleString('en')}-character summaries, ${o.members} members, ${o.reviews} reviews each, ${o.selected} selected (${r.startedAt}, node ${process.version})`,
  );
  console.log(`  budget: no payload over ${kb(PAYLOAD_BUDGET_BYTES)}, no run over ${EVENTS_BUDGET.toLocaleString('en')} events; ${o.concurrency} HTTP clients; ${r.cycleId}`);
  for (const p of r.phases) for (const [reason, n] of [...p.failures].slice(0, 4)) console.log(`  ${p.name}: ${n} × ${reason}`);
  printBaselines(r);
  for (const w of r.waits) console.log(`  waited ${w.seconds.toFixed(1).padStart(6)} s for ${w.what}`);
  console.log(`  outcome: ${r.outcome.reached ? 'REACHED' : 'NOT REACHED'} — ${r.outcome.text}`);
  const d = r.outcome.diagnosis;
  if (d) {
    console.log(`    workflow run ${d.runId}: ${d.status}, ${d.historyLength} events`);
    if (d.pendingWorkflowTask) console.log(`    pending workflow task: ${d.pendingWorkflowTask}`);
    for (const a of d.pendingActivities) console.log(`    pending activity: ${a}`);
    if (d.lastWorkflowTaskFailure) console.log(`    last workflow task failure: ${d.lastWorkflowTaskFailure}`);
    for (const line of d.workerErrors) console.log(`    worker: ${line}`);
    console.log(`    logs: ${r.logDir}`);
  }
  // The budget is only shown at full load: every planned command must have been accepted.
  const short = r.phases.filter((p) => p.ok < p.planned);
  let within = r.outcome.reached && short.length === 0;
  if (short.length > 0) console.log(`  load NOT delivered: ${short.map((p) => `${p.planned - p.ok} of ${p.planned} ${p.name} not accepted`).join(', ')} FAIL`);
  const longest = r.runs.reduce((a, b) => Math.max(a, b.events), r.grants.maxEvents);
  const largest = r.runs.reduce((a, b) => ((b.largest?.bytes ?? 0) > a.bytes ? { bytes: b.largest!.bytes, kind: b.largest!.kind } : a), r.grants.largest ?? { bytes: 0, kind: 'none' });
  console.log(`  largest workflow payload ${x(largest.bytes / PAYLOAD_BUDGET_BYTES)} of the budget   ${kb(largest.bytes)} (${largest.kind}); budget ${kb(PAYLOAD_BUDGET_BYTES)}`);
  console.log(`  longest history          ${x(longest / EVENTS_BUDGET)} of the budget   ${longest.toLocaleString('en')} events; budget ${EVENTS_BUDGET.toLocaleString('en')}`);
  console.log(`  runs of ${r.cycleId}: ${r.runs.length}`);
  for (const [i, run] of r.runs.entries()) {
    const eventsOk = run.events <= EVENTS_BUDGET;
    const payloadOk = (run.largest?.bytes ?? 0) <= PAYLOAD_BUDGET_BYTES;
    within &&= eventsOk && payloadOk;
    console.log(
      `    run ${String(i + 1).padStart(2)} ${run.runId.slice(0, 8)} ${run.status.padEnd(16)} events ${String(run.events).padStart(6)} ${mark(eventsOk)}   history ${kb(run.historyBytes).padStart(9)}   largest payload ${kb(run.largest?.bytes ?? 0).padStart(9)} ${mark(payloadOk)} (${run.largest?.kind ?? 'none'})`,
    );
    const kinds = [...run.byKind].sort((a, b) => b[1].maxBytes - a[1].maxBytes).slice(0, 6);
    for (const [kind, k] of kinds) console.log(`        ${kind.padEnd(44)} max ${kb(k.maxBytes).padStart(9)}  × ${k.count}`);
    console.log(`        workflow tasks ${run.workflowTasks.count}: p50 ${run.workflowTasks.p50} ms, longest ${run.workflowTasks.max} ms`);
    if (run.lastWorkflowTaskFailure) console.log(`        last workflow task failure: ${run.lastWorkflowTaskFailure.slice(0, 300)}`);
  }
  if ('bytes' in r.query) {
    const ok = r.query.bytes <= PAYLOAD_BUDGET_BYTES;
    within &&= ok;
    console.log(`  Query cycleStatus result ${kb(r.query.bytes).padStart(9)} ${mark(ok)}`);
  } else {
    within = false;
    console.log(`  Query cycleStatus FAIL: ${r.query.error.slice(0, 300)}`);
  }
  if (r.refused) {
    within = false;
    console.log(
      `  payload refused by the SDK (TMPRL1103, never recorded) ${kb(r.refused.bytes).padStart(9)} FAIL (${r.refused.path ?? 'unknown path'}; limit ${kb(r.refused.limit)}; ${r.refused.times} workflow task attempts)`,
    );
  }
  if (r.grants.workflows > 0) {
    const eventsOk = r.grants.maxEvents <= EVENTS_BUDGET;
    const payloadOk = (r.grants.largest?.bytes ?? 0) <= PAYLOAD_BUDGET_BYTES;
    within &&= eventsOk && payloadOk;
    console.log(
      `  grant workflows ${r.grants.workflows}: most events in a run ${r.grants.maxEvents} ${mark(eventsOk)}, largest payload ${kb(r.grants.largest?.bytes ?? 0)} ${mark(payloadOk)} (${r.grants.largest?.kind ?? 'none'})`,
    );
  }
  const budgetHeld = !r.refused && r.runs.every((x) => x.events <= EVENTS_BUDGET && (x.largest?.bytes ?? 0) <= PAYLOAD_BUDGET_BYTES) && 'bytes' in r.query && r.query.bytes <= PAYLOAD_BUDGET_BYTES;
  console.log(`  verdict: ${mark(within)} (${r.outcome.reached ? 'grants reached' : 'grants not reached'}; ${short.length ? 'planned load not delivered; ' : ''}payload and history budgets ${budgetHeld ? 'held' : 'exceeded or not measurable'})`);
  return within;
}

