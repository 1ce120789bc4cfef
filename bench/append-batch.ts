/**
 * Appends to a cycle of ~500 applications in its review stage (issue 14): an append of 4 events
 * (what the cycle workflow records when several commands are decided together) and of 1 event,
 * with the projections taking each append at once (Projection.applyAll) against the same
 * projections taking its events one by one (applyAll removed: the path before), in the same run,
 * alternating, on two cycles of the same size. Prints p50/p95 in ms; asserts nothing.
 *
 *   npx swc libs bench tools -d dist --copy-files -q && node dist/bench/append-batch.js
 * (APPLICANTS=514 ROUNDS=30 by default)
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { defaultPolicy, evolve, initialState, policyHash, type CycleEvent, type CycleState } from '@concentra/domain';
import { EventStore, PROJECTIONS, createDataSource, migrate, type NewEvent, type Projection } from '@concentra/persistence';
import { Scenario, T0, appIds, applicationCommand, openCallCommand, reviewer } from '../libs/domain/src/cycle/testing';
import { addDays } from '../libs/domain/src/shared/time';
import { createDatabaseIfMissing, dropDatabase, ensurePostgres, withDatabase } from '../tools/postgres';

const APPLICANTS = Number(process.env.APPLICANTS ?? 514);
const ROUNDS = Number(process.env.ROUNDS ?? 30);

async function main(): Promise<void> {
  const sc = new Scenario();
  sc.run(openCallCommand(defaultPolicy));
  appIds(APPLICANTS).forEach((id, i) => sc.at(addDays(T0, 1 + i * 0.005)).run(applicationCommand(id)));
  sc.fire();
  const prefix = [...sc.events];
  const round = sc.running.rounds[sc.running.currentRound!];
  const reviews: CycleEvent[] = [];
  for (const id of round.candidates) {
    for (const r of [1, 2, 3]) {
      if (reviews.length >= ROUNDS * 5 * 2) break;
      reviews.push(...sc.run({ type: 'SubmitReview', actor: reviewer(r), data: { reviewId: `rev-${id}-${r}`, applicationId: id, scores: { technical: 5, team: 5, impact: 5 }, conflictOfInterest: { declared: false } } }));
    }
  }
  const pg = await ensurePostgres('postgres', () => undefined);
  const name = `concentra_appendbatch_${randomBytes(4).toString('hex')}`;
  await createDatabaseIfMissing(pg.url, name);
  const db = await createDataSource(withDatabase(pg.url, name)).initialize();
  await migrate(db);
  try {
    const perEvent: Projection[] = PROJECTIONS.map((p) => ({ ...p, applyAll: undefined }));
    const modes = [
      { label: 'at once (applyAll)', store: new EventStore(db, PROJECTIONS), stream: new Stream('cycle:batch-new:2027', 'batch-new') },
      { label: 'one by one (before)', store: new EventStore(db, perEvent), stream: new Stream('cycle:batch-old:2027', 'batch-old') },
    ];
    for (const m of modes) for (let at = 0; at < prefix.length; at += 50) await m.store.append(m.stream.id, m.stream.next(prefix.slice(at, at + 50)));
    const times = new Map<string, number[]>();
    let at = 0;
    for (let i = 0; i < ROUNDS; i++) {
      for (const size of [4, 1]) {
        const batch = reviews.slice(at, at + size);
        at += size;
        for (const m of i % 2 === 0 ? modes : [...modes].reverse()) {
          const events = m.stream.next(batch);
          const started = performance.now();
          await m.store.append(m.stream.id, events);
          const key = `${size} event${size > 1 ? 's' : ''}, ${m.label}`;
          times.set(key, [...(times.get(key) ?? []), performance.now() - started]);
        }
      }
    }
    const [{ bytes }] = (await db.query(`SELECT octet_length(state::text) AS bytes FROM cycle_states WHERE cycle_id = 'cycle:batch-new:2027'`)) as { bytes: number }[];
    console.log(`append to a cycle of ${APPLICANTS} applications in review (cycle_states ${(bytes / 1024).toFixed(0)} KB), ${ROUNDS} appends each, node ${process.version}`);
    for (const [key, t] of times) console.log(`  ${key.padEnd(36)} p50 ${pct(t, 0.5).toFixed(1)} ms   p95 ${pct(t, 0.95).toFixed(1)} ms`);
  } finally {
    await db.destroy();
    await dropDatabase(pg.url, name);
    await pg.stop();
  }
}

/** A cycle stream's next events, with the stage after each in metadata, as the workflow records them. */
class Stream {
  private state: CycleState = initialState;
  private n = 0;
  constructor(
    readonly id: string,
    private readonly program: string,
  ) {}

  next(events: CycleEvent[]): NewEvent[] {
    return events.map((e) => {
      this.state = evolve(this.state, e);
      this.n += 1;
      const data = { ...(e.data as unknown as Record<string, unknown>), ...(e.type === 'CallOpened' ? { program: this.program } : {}) };
      return { eventId: `${this.id}#${this.n}`, type: e.type, data, metadata: { actor: { role: 'system', subject: 'bench' }, policyHash: policyHash(defaultPolicy), stage: this.state.stage }, occurredAt: T0 };
    });
  }
}

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
