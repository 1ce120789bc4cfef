import type { EntityManager } from 'typeorm';
import { canonicalJson, evolve, initialState, owed, type CycleEvent, type CycleState, type RunningCycle } from '@concentra/domain';
import type { StoredEvent } from '../event-store/types';
import type { Projection } from './projection';

/**
 * cycle_details: what the admin API reads about a cycle, kept from the cycle's events.
 *
 * It never re-implements a stage rule: the domain's own `evolve` folds each event into the cycle
 * state (kept in cycle_states), and the other tables are cut from that state (application
 * statuses, grants, what is owed by whom) or copied from the events themselves (application texts
 * and consortia, rankings, decisions): the compact state keeps no texts or member lists. Rebuilt
 * from zero, it writes the same rows.
 */
export const cycleDetailsProjection: Projection = {
  name: 'cycle_details',
  appliesTo: (event) => event.streamId.startsWith('cycle:'),
  async apply(tx: EntityManager, event: StoredEvent) {
    if (event.streamId.startsWith('cycle:')) await applyRun(tx, event.streamId, [event]);
  },
  async applyAll(tx: EntityManager, events: readonly StoredEvent[]) {
    // One stream's events, in order (the Projection contract); grouped again only to be safe.
    let run: StoredEvent[] = [];
    for (const event of events) {
      if (run.length > 0 && run[0].streamId !== event.streamId) {
        if (run[0].streamId.startsWith('cycle:')) await applyRun(tx, run[0].streamId, run);
        run = [];
      }
      run.push(event);
    }
    if (run.length > 0 && run[0].streamId.startsWith('cycle:')) await applyRun(tx, run[0].streamId, run);
  },
  async reset(tx) {
    for (const table of ['cycle_owed', 'cycle_grants', 'cycle_decisions', 'cycle_rankings', 'cycle_applications', 'cycle_states']) {
      await tx.query(`DELETE FROM ${table}`);
    }
  },
};

/**
 * Consecutive events of one cycle: its state read once, each event folded in memory with the
 * domain's evolve, the state written once. What an event carries (application texts, rankings,
 * decisions) and what changed at it (statuses and grants, with the position of the change) are
 * written per event from the states either side of it; what is owed depends on the state alone,
 * so it is written once, as the difference between the state before the run and after it (the
 * per-event differences compose to that one). Events at or below the stored position are skipped.
 */
async function applyRun(tx: EntityManager, cycleId: string, events: readonly StoredEvent[]): Promise<void> {
  const [row] = (await tx.query('SELECT position, state FROM cycle_states WHERE cycle_id = $1', [cycleId])) as { position: number; state: CycleState }[];
  const start = row?.state ?? null;
  let state = start;
  let position = row?.position ?? 0;
  let applied = false; // evolve may answer the same state for an event: its position is still recorded
  for (const event of events) {
    if (!state && !isEngineCallOpened(event)) continue; // a history this projection does not describe
    if (state && position >= event.streamPosition) continue; // already applied
    const before = state ?? initialState;
    let after: CycleState;
    try {
      after = evolve(before, { type: event.type, data: event.data } as unknown as CycleEvent);
    } catch {
      continue; // an event the domain does not know (yet): the other projections still take it
    }
    if (after.stage === 'not_started') continue;
    const previous = before.stage === 'not_started' ? null : before;
    await applications(tx, cycleId, event, previous, after);
    await grants(tx, cycleId, event, previous, after);
    await rankings(tx, cycleId, event);
    await decisions(tx, cycleId, event);
    state = after;
    position = event.streamPosition;
    applied = true;
  }
  if (!applied || !state || state.stage === 'not_started') return;
  await tx.query(
    `INSERT INTO cycle_states (cycle_id, position, stage, state) VALUES ($1, $2, $3, $4)
     ON CONFLICT (cycle_id) DO UPDATE SET position = $2, stage = $3, state = $4`,
    [cycleId, position, state.stage, state],
  );
  await owedRows(tx, cycleId, start && start.stage !== 'not_started' ? start : null, state);
}

/** The engine's CallOpened carries the policy and the lottery seed (the walking skeleton's did not). */
function isEngineCallOpened(event: StoredEvent): boolean {
  const data = event.data as { policy?: unknown; lotterySeed?: unknown };
  return event.type === 'CallOpened' && typeof data.lotterySeed === 'string' && typeof data.policy === 'object' && data.policy !== null;
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** Texts and consortia from the application events; statuses from the state after the event. */
async function applications(tx: EntityManager, cycleId: string, event: StoredEvent, before: RunningCycle | null, after: RunningCycle): Promise<void> {
  const position = event.streamPosition;
  const e = { type: event.type, data: event.data } as unknown as CycleEvent;
  if (e.type === 'ApplicationSubmitted') {
    const d = e.data;
    const organisations = [d.lead, ...d.members].map((o) => o.organisationId);
    await tx.query(
      `INSERT INTO cycle_applications (cycle_id, application_id, title, summary, lead_organisation_id, lead, members, organisation_ids, status, submitted_at, submitted_by, refill_key, updated_position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (cycle_id, application_id) DO UPDATE SET title = $3, summary = $4, lead_organisation_id = $5, lead = $6, members = $7,
         organisation_ids = $8, status = $9, refill_key = $12, updated_position = $13`,
      [cycleId, d.applicationId, d.title, d.summary, d.lead.organisationId, JSON.stringify(d.lead), JSON.stringify(d.members), organisations, 'submitted', d.submittedAt, d.submittedBy, d.refillKey, position],
    );
  }
  if (e.type === 'MembershipChanged') {
    const d = e.data;
    await tx.query(
      `UPDATE cycle_applications SET members = $3, organisation_ids = ARRAY[lead_organisation_id] || $4::text[], updated_position = $5 WHERE cycle_id = $1 AND application_id = $2`,
      [cycleId, d.applicationId, JSON.stringify(d.members), d.members.map((m) => m.organisationId), position],
    );
  }
  for (const [id, app] of Object.entries(after.applications)) {
    if (before?.applications[id]?.status === app.status) continue;
    await tx.query('UPDATE cycle_applications SET status = $3, updated_position = $4 WHERE cycle_id = $1 AND application_id = $2', [cycleId, id, app.status, position]);
  }
}

async function grants(tx: EntityManager, cycleId: string, event: StoredEvent, before: RunningCycle | null, after: RunningCycle): Promise<void> {
  for (const grant of Object.values(after.grants)) {
    const was = before?.grants[grant.applicationId];
    if (before && (was === grant || same(was, grant))) continue; // evolve keeps an unchanged grant's object
    await tx.query(
      `INSERT INTO cycle_grants (cycle_id, application_id, grant_id, status, gpus, started_at, ends_at, ended_at, end_reason, updated_position)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (cycle_id, application_id) DO UPDATE SET grant_id = $3, status = $4, gpus = $5, started_at = $6, ends_at = $7, ended_at = $8,
         end_reason = $9, updated_position = $10`,
      [cycleId, grant.applicationId, grant.grantId, grant.status, JSON.stringify(grant.gpus), grant.startedAt, grant.endsAt, grant.endedAt, grant.endReason, event.streamPosition],
    );
  }
  // Facts the domain state does not keep: the ledger's allocation and the hours used.
  if (event.type === 'GrantStarted') {
    const d = event.data as { applicationId: string; allocationId: string | null };
    await tx.query('UPDATE cycle_grants SET allocation_id = $3 WHERE cycle_id = $1 AND application_id = $2', [cycleId, d.applicationId, d.allocationId]);
  }
  if (event.type === 'GrantEnded') {
    const d = event.data as { applicationId: string; gpuHoursUsed: number | null };
    await tx.query('UPDATE cycle_grants SET gpu_hours_used = $3 WHERE cycle_id = $1 AND application_id = $2', [cycleId, d.applicationId, d.gpuHoursUsed]);
  }
}

type RankingRow = { kind: string; key: string; round: number | null; result: unknown; kept: string[]; dropped: string[]; at: string };

/** Every ranking the cycle computed: closed review rounds and the proposals put to the program manager. */
function rankingOf(event: StoredEvent): RankingRow | null {
  // A selection proposal ranks as the review round it names closed (the event does not repeat the ranking): see rankings().
  const e = { type: event.type, data: event.data } as unknown as CycleEvent;
  const rest = (all: string[], kept: string[]) => all.filter((id) => !kept.includes(id));
  switch (e.type) {
    case 'ReviewRoundClosed':
      return { kind: 'review', key: e.data.roundKey, round: e.data.round, result: e.data.result, kept: e.data.kept, dropped: e.data.dropped, at: e.data.closedAt };
    case 'SelectionProposed':
      return { kind: 'selection_proposal', key: e.data.decisionKey, round: null, result: { fromRound: e.data.roundKey }, kept: e.data.proposed, dropped: rest(e.data.candidates, e.data.proposed), at: event.occurredAt };
    case 'NarrowingProposed':
      return { kind: 'narrowing_proposal', key: e.data.decisionKey, round: e.data.round, result: e.data.result, kept: e.data.proposed, dropped: rest(e.data.candidates, e.data.proposed), at: event.occurredAt };
    case 'RefillRankingProposed':
      return { kind: 'refill_proposal', key: e.data.refillKey, round: null, result: e.data.result, kept: e.data.proposed, dropped: rest(e.data.candidates, e.data.proposed), at: event.occurredAt };
    default:
      return null;
  }
}

async function rankings(tx: EntityManager, cycleId: string, event: StoredEvent): Promise<void> {
  const r = rankingOf(event);
  if (!r) return;
  const from = (r.result as { fromRound?: string }).fromRound;
  if (from) {
    const [round] = (await tx.query(`SELECT result FROM cycle_rankings WHERE cycle_id = $1 AND kind = 'review' AND key = $2 ORDER BY position DESC LIMIT 1`, [cycleId, from])) as { result: unknown }[];
    r.result = round?.result ?? null;
  }
  await tx.query(
    `INSERT INTO cycle_rankings (cycle_id, position, event_type, kind, key, round, result, kept, dropped, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (cycle_id, position) DO NOTHING`,
    [cycleId, event.streamPosition, event.type, r.kind, r.key, r.round, JSON.stringify(r.result), JSON.stringify(r.kept), JSON.stringify(r.dropped), r.at],
  );
}

async function decisions(tx: EntityManager, cycleId: string, event: StoredEvent): Promise<void> {
  const e = { type: event.type, data: event.data } as unknown as CycleEvent;
  let row: { kind: string; key: string; round: number | null; kept: string[]; dropped: string[]; approval: unknown; overridden: boolean; rationale: string | null; at: string; window: string | null } | null = null;
  if (e.type === 'AwardeesSelected') {
    const d = e.data;
    row = { kind: 'selection', key: d.decisionKey, round: null, kept: d.awardees, dropped: d.notSelected, approval: d.approval, overridden: d.overridden, rationale: d.rationale, at: d.decidedAt, window: d.objectionWindowEndsAt };
  } else if (e.type === 'TeamsNarrowed') {
    const d = e.data;
    row = { kind: 'narrowing', key: d.decisionKey, round: d.round, kept: d.kept, dropped: d.dropped, approval: d.approval, overridden: d.overridden, rationale: d.rationale, at: d.decidedAt, window: d.objectionWindowEndsAt };
  } else if (e.type === 'RefillEntrantsSelected') {
    const d = e.data;
    row = { kind: 'refill', key: d.refillKey, round: null, kept: d.entrants, dropped: d.notSelected, approval: d.approval, overridden: false, rationale: d.rationale, at: d.decidedAt, window: null };
  }
  if (e.type === 'ObjectionWindowStarted' && e.data.windowEndsAt) {
    // A window that started on notice: its end is known once every affected team's window started.
    await tx.query(
      `UPDATE cycle_decisions SET objection_window_ends_at = $3
       WHERE cycle_id = $1 AND position = (SELECT max(position) FROM cycle_decisions WHERE cycle_id = $1 AND decision_key = $2)`,
      [cycleId, e.data.decisionKey, e.data.windowEndsAt],
    );
  }
  if (!row) return;
  await tx.query(
    `INSERT INTO cycle_decisions (cycle_id, position, event_type, kind, decision_key, round, kept, dropped, approval, overridden, rationale, decided_at, objection_window_ends_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (cycle_id, position) DO NOTHING`,
    [cycleId, event.streamPosition, event.type, row.kind, row.key, row.round, JSON.stringify(row.kept), JSON.stringify(row.dropped), JSON.stringify(row.approval), row.overridden, row.rationale, row.at, row.window],
  );
}

function owedBy(state: RunningCycle): ReturnType<typeof owed> {
  try {
    return owed(state);
  } catch {
    return []; // never let a read table stop the engine from recording its decisions
  }
}

/**
 * Who owes what by when, as the domain's `owed` says for the state after this event. Only the
 * difference is written: a review settles one item, and a call of hundreds of applications with a
 * named panel owes thousands, so rewriting them all on each event would grow with the call.
 */
async function owedRows(tx: EntityManager, cycleId: string, before: RunningCycle | null, after: RunningCycle): Promise<void> {
  const previous = new Map((before ? owedBy(before) : []).map((o) => [owedKey(o), o]));
  const next = new Map(owedBy(after).map((o) => [owedKey(o), o]));
  const gone = new Set([...previous.keys()].filter((k) => !next.has(k) || !sameDue(previous.get(k)!, next.get(k)!)));
  const added = [...next.entries()].filter(([k]) => !previous.has(k) || gone.has(k)).map(([, o]) => o);
  if (!before) await tx.query('DELETE FROM cycle_owed WHERE cycle_id = $1', [cycleId]);
  if (gone.size > 0) {
    const rows = [...gone].map((k) => previous.get(k)!);
    await tx.query(
      `DELETE FROM cycle_owed o USING unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS g(role, subject, organisation_id, what, application_id, item)
       WHERE o.cycle_id = $1 AND o.role = g.role AND o.subject = g.subject AND o.organisation_id = g.organisation_id AND o.what = g.what AND o.application_id = g.application_id AND o.item = g.item`,
      [cycleId, ...columns(rows, (o) => [o.who.role, o.who.subject ?? '', o.who.organisationId ?? '', o.what, o.applicationId ?? '', o.reportId ?? ''])],
    );
  }
  if (added.length > 0) {
    await tx.query(
      `INSERT INTO cycle_owed (cycle_id, role, subject, organisation_id, what, application_id, due_at, deadline, item)
       SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::text[], $9::text[])
       ON CONFLICT DO NOTHING`,
      [cycleId, ...columns(added, (o) => [o.who.role, o.who.subject ?? '', o.who.organisationId ?? '', o.what, o.applicationId ?? '', o.dueAt, o.deadline, o.reportId ?? ''])],
    );
  }
}

type OwedItem = ReturnType<typeof owed>[number];

/** The table's primary key, less the cycle. */
function owedKey(o: OwedItem): string {
  return JSON.stringify([o.who.role, o.who.subject ?? '', o.who.organisationId ?? '', o.what, o.applicationId ?? '', o.reportId ?? '']);
}

function sameDue(a: OwedItem, b: OwedItem): boolean {
  return a.dueAt === b.dueAt && a.deadline === b.deadline;
}

/** Rows to column arrays, for one unnest() statement instead of a statement per row. */
function columns<T>(rows: T[], pick: (row: T) => unknown[]): unknown[][] {
  const out: unknown[][] = [];
  for (const row of rows) pick(row).forEach((value, i) => (out[i] ??= []).push(value));
  return out;
}
