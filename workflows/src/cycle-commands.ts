import { ApplicationFailure, CancellationScope, condition } from '@temporalio/workflow';
import { DomainError, decide, evolve, evolveAll, stagesAfter, type CycleCommand, type CycleEvent, type CycleState } from '@concentra/domain';
import type { EventMetadata } from '@concentra/persistence';
import type { EventRecorder } from './event-recorder';

/**
 * Cycles recorded before this apply their commands one at a time, each with its own record
 * activity; since, the commands waiting together are decided in turn and recorded in one append.
 */
export const BATCH_PATCH = 'batched-command-recording';
/** A batch stays far below Temporal's payload limits (2 MB; the house budget is 256 KB): the events of one append, */
export const BATCH_MAX_EVENTS = 200;
/** and their encoded size (the activity's input, and its result, which answers them as stored). */
export const BATCH_MAX_BYTES = 160 * 1024;

/** Runs a domain step; a DomainError becomes the failure the API maps to a 4xx. */
export function refusing<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof DomainError) {
      throw ApplicationFailure.create({ type: 'DomainError', message: error.message, details: [error.toJSON()], nonRetryable: true });
    }
    throw error;
  }
}

export interface CycleCommandsContext {
  recorder: EventRecorder;
  policyHash: string;
  state(): CycleState;
  setState(state: CycleState): void;
  /** After a command's events are stored and the state evolved from them: logging, the stage shown, escalations. `sequence`: the recorder's count after them. */
  recorded(command: CycleCommand, events: CycleEvent[], sequence: number): Promise<void>;
}

interface Waiting {
  command: CycleCommand;
  now: string;
  stands: (state: CycleState) => boolean;
  resolve: (events: CycleEvent[]) => void;
  reject: (error: unknown) => void;
}

/** What a batch member comes to: refused, nothing to record, or the `member`-th command recorded. */
type Outcome = { error: unknown } | { none: true } | { member: number };

/**
 * The cycle's commands, applied in the order they arrive: each decides on the state the previous
 * one left. `serial` (histories before BATCH_PATCH): one decide-record-evolve at a time. Batched:
 * what waits together (the Updates of one activation, and those that arrive while an append is in
 * flight) is decided in turn on an in-memory state evolved with each one's proposed events, then
 * recorded in one append; each command answers its own events once the batch is stored, and the
 * cycle's state evolves from what the store answered. A batch the store refuses for good (a record
 * it can never hold) is applied again one command at a time, so only the offending command fails.
 */
export class CycleCommands {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly waiting: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly ctx: CycleCommandsContext,
    private readonly batched: boolean,
  ) {}

  /** `stands` is asked once the command's turn comes: a command made moot by those before it records nothing. `now` only stamps. */
  apply(command: CycleCommand, now: string, stands: (s: CycleState) => boolean = () => true): Promise<CycleEvent[]> {
    if (!this.batched) {
      const run = this.queue.then(
        () => this.applyOne(command, now, stands),
        () => this.applyOne(command, now, stands),
      );
      this.queue = run.catch(() => undefined);
      return run;
    }
    return new Promise<CycleEvent[]>((resolve, reject) => {
      this.waiting.push({ command, now, stands, resolve, reject });
      // Not cancellable: a batch being recorded when an operator cancels the cycle is recorded whole,
      // and the cycle's own CancelCycle, queued behind it, is recorded by the same loop.
      if (!this.flushing) void CancellationScope.nonCancellable(() => this.flush());
    });
  }

  /** Resolves once every command given so far is applied (before a continue-as-new). */
  async settled(): Promise<void> {
    await this.queue;
    await condition(() => !this.flushing && this.waiting.length === 0);
  }

  /** One command: decide on the current state, record, evolve from what was recorded. */
  private async applyOne(command: CycleCommand, now: string, stands: (s: CycleState) => boolean): Promise<CycleEvent[]> {
    const state = this.ctx.state();
    if (!stands(state)) return [];
    const proposed = refusing(() => decide(command, state, now));
    if (proposed.length === 0) return proposed;
    const stages = stagesAfter(state, proposed);
    const recorded = await this.ctx.recorder.record(proposed, (_, i) => this.metadata(command, stages[i]));
    this.ctx.setState(evolveAll(recorded, this.ctx.state()));
    await this.ctx.recorded(command, recorded, this.ctx.recorder.recorded);
    return recorded;
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      // The other Updates of this activation reach `apply` before this continues: they join the batch.
      await Promise.resolve();
      while (this.waiting.length > 0) await this.applyBatch();
    } finally {
      this.flushing = false;
    }
  }

  /** Takes the waiting commands that fit one append, decides them in turn, records them together, and answers each. */
  private async applyBatch(): Promise<void> {
    let working = this.ctx.state();
    const outcomes: Outcome[] = [];
    const members: Array<{ command: CycleCommand; events: CycleEvent[]; stages: string[] }> = [];
    let events = 0;
    let bytes = 0;
    let taken = 0;
    for (const w of this.waiting) {
      if (!w.stands(working)) {
        outcomes.push({ none: true });
      } else {
        let proposed: CycleEvent[];
        try {
          proposed = refusing(() => decide(w.command, working, w.now));
        } catch (error) {
          outcomes.push({ error });
          taken += 1;
          continue;
        }
        const size = proposed.length === 0 ? 0 : JSON.stringify(proposed).length;
        // The first command always goes (alone if it is that large); the rest wait for the next append.
        if (members.length > 0 && (events + proposed.length > BATCH_MAX_EVENTS || bytes + size > BATCH_MAX_BYTES)) break;
        const stages: string[] = [];
        for (const event of proposed) {
          working = evolve(working, event);
          stages.push(working.stage);
        }
        events += proposed.length;
        bytes += size;
        if (proposed.length > 0) {
          outcomes.push({ member: members.length });
          members.push({ command: w.command, events: proposed, stages });
        } else outcomes.push({ none: true });
      }
      taken += 1;
    }
    const batch = this.waiting.splice(0, taken);
    const all = members.flatMap((m) => m.events);
    const meta = members.flatMap((m) => m.stages.map((stage) => this.metadata(m.command, stage)));
    let recorded: CycleEvent[];
    try {
      recorded = await this.ctx.recorder.record(all, (_, i) => meta[i]);
    } catch (error) {
      if (members.length > 1 && error instanceof ApplicationFailure && error.type === 'DomainError') {
        // The store refused one record of the batch for good: nothing of it is stored. Each command
        // again on its own, decided on the state the ones before it left, so only that one fails.
        for (const w of batch) await this.applyOne(w.command, w.now, w.stands).then(w.resolve, w.reject);
        return;
      }
      batch.forEach((w, i) => {
        const outcome = outcomes[i];
        if ('error' in outcome) w.reject(outcome.error);
        else if ('none' in outcome) w.resolve([]);
        else w.reject(error);
      });
      return;
    }
    // The state takes every stored event first (pure): whatever an after-effect does, it holds all that was recorded.
    this.ctx.setState(evolveAll(recorded, this.ctx.state()));
    let at = 0;
    let sequence = this.ctx.recorder.recorded - recorded.length;
    const answers: Array<{ events: CycleEvent[] } | { error: unknown }> = [];
    for (const member of members) {
      const mine = recorded.slice(at, at + member.events.length);
      at += member.events.length;
      sequence += mine.length;
      // Logging and escalation notices, per command; a failure fails that command alone, as it did one at a time.
      answers.push(await this.ctx.recorded(member.command, mine, sequence).then(() => ({ events: mine }), (error: unknown) => ({ error })));
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i];
      const answer = 'member' in outcome ? answers[outcome.member] : outcome;
      if ('error' in answer) w.reject(answer.error);
      else w.resolve('events' in answer ? answer.events : []);
    });
  }

  private metadata(command: CycleCommand, stage: string): EventMetadata {
    return { policyHash: this.ctx.policyHash, actor: command.actor, causationId: command.type, stage } as EventMetadata;
  }
}
