/**
 * What a simulated cycle shows a program manager: the timeline in days from the call's opening,
 * who was selected and narrowed, GPUs in use month by month, and every deadline that passed with
 * something missing. Built from the recorded events only, so the same seed prints the same report.
 */
import type { StoredEvent } from '@concentra/persistence';
import type { SimulationRun } from './driver';

const DAY = 86_400_000;

export interface SimulationSummary {
  title: string;
  /** The simulated calendar day the call opened (every run opens on the same one). */
  opened: string;
  applications: number;
  seed: string;
  outcome: string;
  days: number;
  timeline: string[];
  selected: string[];
  narrowed: string[];
  gpuByMonth: Array<{ month: number; gpus: number }>;
  gpuMonths: number;
  missed: string[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- recorded event data of many shapes
type Data = Record<string, any>;

const MILESTONES: Record<string, (d: Data) => string> = {
  CallOpened: () => 'call opened',
  CallClosed: () => 'call closed',
  ReviewRoundOpened: (d) => `review round ${d.round}: ${d.applications.length} applications`,
  ReviewDeadlineExtended: (d) => `review deadline extended (${d.missing.length} short of scores)`,
  ReviewRoundClosed: (d) => `review round ${d.round} closed`,
  SelectionProposed: (d) => `selection proposed: ${d.proposed.length} of ${d.candidates.length}`,
  AwardeesSelected: (d) => `${d.awardees.length} selected (${approval(d)})`,
  GrantPeriodStarted: () => 'grant period started',
  GrantPeriodEnded: () => 'grant period ended',
  EvaluationRoundOpened: (d) => `evaluation round ${d.round}: ${d.teams.length} teams`,
  EvaluationSubmissionsClosed: (d) => `models in: ${d.submitted.length}, missing ${d.missing.length}`,
  NarrowingProposed: (d) => `narrowing ${d.round} proposed: keep ${d.proposed.length}`,
  TeamsNarrowed: (d) => `narrowed ${d.round}: kept ${d.kept.length}, dropped ${d.dropped.length} (${approval(d)})`,
  ObjectionWindowClosed: () => 'objection window closed',
  ExtensionStarted: (d) => `extension: ${d.finalists.length} finalists`,
  ExtensionEnded: () => 'extension ended',
  ProcurementOpened: (d) => `procurement opened for ${d.finalists.length}`,
  ProcurementDeadlinePassed: (d) => `procurement deadline ${d.deadline}: ${d.missing.length} missing`,
  EscalationRaised: (d) => `escalated: ${d.reason}`,
  CycleClosed: (d) => `cycle closed: ${d.outcome}`,
  CycleCancelled: (d) => `cycle cancelled: ${d.reason}`,
};

function approval(d: Data): string {
  return d.approval === 'policy default' || d.approvedBy === 'policy default' ? 'policy default' : 'approved';
}

export function summarise(run: SimulationRun): SimulationSummary {
  const events = run.events;
  const t0 = Date.parse(events[0]?.occurredAt ?? new Date(0).toISOString());
  const day = (e: StoredEvent) => Math.floor((Date.parse(e.occurredAt) - t0) / DAY);
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.data as Data);

  const timeline: string[] = [];
  for (const e of events) {
    const line = MILESTONES[e.type]?.(e.data as Data);
    if (line && timeline.at(-1) !== `day ${String(day(e)).padStart(3)}  ${line}`) timeline.push(`day ${String(day(e)).padStart(3)}  ${line}`);
  }

  const selected = of('AwardeesSelected').flatMap((d) => [`selected ${d.awardees.join(', ')}`, `not selected: ${d.notSelected.length}`]);
  const narrowed = [
    ...of('TeamsNarrowed').map((d) => `round ${d.round}: kept ${d.kept.join(', ')}; dropped ${d.dropped.join(', ') || 'none'}`),
    ...of('TeamEliminated')
      .filter((d) => d.reason === 'no_submission')
      .map((d) => `round ${d.round}: ${d.applicationId} eliminated, no model`),
    ...of('CycleClosed').map((d) => `finalists ${d.finalists.join(', ') || 'none'}`),
  ];

  const missed = [
    ...events.filter((e) => e.type === 'ReviewDeadlineExtended').map((e) => `day ${day(e)}: reviews short for ${(e.data as Data).missing.length} applications`),
    ...events.filter((e) => e.type === 'EvaluationSubmissionsClosed' && (e.data as Data).missing.length > 0).map((e) => `day ${day(e)}: no model from ${(e.data as Data).missing.join(', ')}`),
    ...events.filter((e) => e.type === 'EscalationRaised').map((e) => `day ${day(e)}: ${(e.data as Data).reason} (${(e.data as Data).subject})`),
    ...events
      .filter((e) => (e.type === 'AwardeesSelected' || e.type === 'TeamsNarrowed') && approval(e.data as Data) === 'policy default')
      .map((e) => `day ${day(e)}: ${e.type === 'AwardeesSelected' ? 'selection' : 'narrowing'} approval overdue, policy default applied`),
    ...events.filter((e) => e.type === 'ProcurementDeadlinePassed' && (e.data as Data).missing.length > 0).map((e) => `day ${day(e)}: ${(e.data as Data).deadline} missed by ${(e.data as Data).missing.join(', ')}`),
  ];

  const { byMonth, gpuMonths } = gpuUse(events, run.allocationGpus, t0);
  const closed = events.find((e) => e.type === 'CycleClosed' || e.type === 'CycleCancelled');
  return {
    title: `${run.input.policy.name} (${run.input.policy.version})`,
    opened: events[0]?.occurredAt.slice(0, 10) ?? '',
    applications: run.input.applications,
    seed: run.input.seed,
    outcome: closed ? `${closed.type === 'CycleClosed' ? (closed.data as Data).outcome : 'cancelled'} on day ${day(closed)}` : run.outcome,
    days: closed ? day(closed) : events.length ? day(events.at(-1)!) : 0,
    timeline,
    selected,
    narrowed,
    gpuByMonth: byMonth,
    gpuMonths,
    missed: missed.length ? missed : ['none'],
  };
}

/** GPUs held by the cycle's grants, sampled at the start of every 30-day month, and GPU-months in all. */
function gpuUse(events: StoredEvent[], allocationGpus: Map<string, number>, t0: number): { byMonth: Array<{ month: number; gpus: number }>; gpuMonths: number } {
  const changes: Array<{ at: number; team: string; gpus: number }> = [];
  const total = (gpus: Array<{ count: number }> | undefined) => (gpus ?? []).reduce((a, g) => a + g.count, 0);
  for (const e of events) {
    const d = e.data as Data;
    // Whole days from the opening: the same seed gives the same figure, whatever seconds the run took.
    const at = t0 + Math.floor((Date.parse(e.occurredAt) - t0) / DAY) * DAY;
    if (e.type === 'GrantStarted') changes.push({ at, team: d.applicationId, gpus: allocationGpus.get(d.allocationId) ?? 0 });
    if (e.type === 'GrantGpusChanged' || e.type === 'GrantExtended') changes.push({ at, team: d.applicationId, gpus: total(d.gpus) });
    if (e.type === 'GrantEnded') changes.push({ at, team: d.applicationId, gpus: 0 });
  }
  const end = t0 + Math.max(0, ...events.map((e) => Math.floor((Date.parse(e.occurredAt) - t0) / DAY))) * DAY;
  const held = new Map<string, number>();
  const byMonth: Array<{ month: number; gpus: number }> = [];
  let gpuMonths = 0;
  let i = 0;
  let prev = t0;
  let inUse = 0;
  const advance = (to: number) => {
    gpuMonths += (inUse * (to - prev)) / (30 * DAY);
    prev = to;
  };
  for (let month = 0; t0 + month * 30 * DAY <= end + 30 * DAY; month++) {
    const at = t0 + month * 30 * DAY;
    while (i < changes.length && changes[i].at <= at) {
      advance(changes[i].at);
      held.set(changes[i].team, changes[i].gpus);
      inUse = [...held.values()].reduce((a, b) => a + b, 0);
      i++;
    }
    advance(at);
    byMonth.push({ month, gpus: inUse });
  }
  return { byMonth, gpuMonths: Math.round(gpuMonths) };
}

function render(s: SimulationSummary, peak: number): Array<{ title: string; lines: string[] }> {
  const bar = (n: number) => '#'.repeat(peak > 0 ? Math.round((n / peak) * 20) : 0);
  return [
    { title: s.title, lines: [`${s.applications} applications, seed ${s.seed}, opened ${s.opened}`, `outcome: ${s.outcome}`] },
    { title: 'timeline', lines: s.timeline },
    { title: 'selection', lines: s.selected },
    { title: 'narrowing', lines: s.narrowed },
    { title: `GPUs in use (${s.gpuMonths.toLocaleString('en')} GPU-months)`, lines: s.gpuByMonth.map((m) => `month ${String(m.month).padStart(2)} ${m.gpus.toLocaleString('en').padStart(7)} ${bar(m.gpus)}`) },
    { title: 'deadlines missed', lines: s.missed },
  ];
}

/** One summary, or several side by side (one column each). */
export function formatSummaries(summaries: SimulationSummary[], width = 64): string {
  const peak = Math.max(0, ...summaries.flatMap((s) => s.gpuByMonth.map((m) => m.gpus)));
  const rendered = summaries.map((s) => render(s, peak));
  const out: string[] = [];
  const fit = (text: string) => (text.length > width - 2 ? `${text.slice(0, width - 3)}…` : text).padEnd(width);
  for (let section = 0; section < rendered[0].length; section++) {
    out.push(rendered.map((r) => fit(`== ${r[section].title}`)).join('').trimEnd());
    const rows = Math.max(...rendered.map((r) => r[section].lines.length));
    for (let row = 0; row < rows; row++) out.push(rendered.map((r) => fit(`  ${r[section].lines[row] ?? ''}`)).join('').trimEnd());
    out.push('');
  }
  return out.join('\n');
}
