/**
 * Commands that wait together are decided one after another and recorded in one append
 * (workflows/src/cycle-commands.ts, patch `batched-command-recording`). Many Updates sent at once
 * must come out exactly as if they had been applied one at a time: the same events, the same state,
 * each answered with its own events; a command refused in the middle of a batch records nothing,
 * and a record the store can never hold fails only its own command.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { decide, defaultPolicy, defaultPolicyDocument, evolveAll, parsePolicy, type CycleCommand, type CycleEvent, type CycleState } from '@concentra/domain';
import { crossCheck, decisionsInHistory } from '@concentra/audit';
import type { CommandResult } from '@concentra/workflows/contracts';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, application, cancelAndDrain } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf } from '../../../libs/domain/src/cycle/testing';

const LIMIT = 24;
/** PostgreSQL refuses this title for good (a trigger raising 54000, as a store-side limit would): the record is unstorable. */
const REFUSED_TITLE = 'refused by the store';

type Sent = { command: CycleCommand; outcome: { ok: true; result: CommandResult } | { ok: false; code: string; message: string } };

describe('commands batched into one append', () => {
  const harness = useCycleHarness();

  beforeAll(async () => {
    await harness.database.db.query(`
      CREATE FUNCTION refuse_marked_title() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.data->>'title' = '${REFUSED_TITLE}' THEN RAISE EXCEPTION 'program limit exceeded for this record' USING ERRCODE = '54000'; END IF;
        RETURN NEW;
      END $$`);
    await harness.database.db.query('CREATE TRIGGER refuse_marked_title BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_marked_title()');
  });

  it('many concurrent applications: the same events and state as one at a time; refusals mid-batch and an unstorable record fail alone', async () => {
    const policy = parsePolicy({ ...defaultPolicyDocument, stages: defaultPolicyDocument.stages.map((s) => (s.kind === 'call' ? { ...s, closing: { deadline: 'P30D', afterApplications: LIMIT } } : s)) });
    const run = await harness.start(policy, { panel: PANEL });
    const send = async (command: CycleCommand): Promise<Sent> =>
      run.send(command).then(
        (result) => ({ command, outcome: { ok: true as const, result } }),
        (error: unknown) => {
          const cause = error instanceof WorkflowUpdateFailedError ? error.cause : undefined;
          if (!(cause instanceof ApplicationFailure) || cause.type !== 'DomainError') throw error;
          return { command, outcome: { ok: false as const, code: (cause.details?.[0] as { code: string }).code, message: cause.message } };
        },
      );

    // Wave 1, all at once, every one before the limit: a second application under an existing id, and one the store refuses.
    const duplicate: CycleCommand = { ...application('a5'), actor: applicantOf('org-dup'), data: { ...application('a5').data, lead: { organisationId: 'org-dup', name: 'Org dup', type: 'company' } } } as CycleCommand;
    const unstorable: CycleCommand = { ...application('bad'), data: { ...application('bad').data, title: REFUSED_TITLE } } as CycleCommand;
    const wave1 = [...Array.from({ length: 6 }, (_, i) => application(`a${i + 1}`)), unstorable, duplicate, ...Array.from({ length: 6 }, (_, i) => application(`a${i + 7}`))];
    const first = await Promise.all(wave1.map(send));
    const a5 = first.filter((s) => (s.command.data as { applicationId: string }).applicationId === 'a5');
    expect(a5.filter((s) => s.outcome.ok)).toHaveLength(1);
    expect(a5.filter((s) => !s.outcome.ok).map((s) => s.outcome)).toEqual([expect.objectContaining({ code: 'duplicate' })]);
    const bad = first.find((s) => s.command === unstorable)!.outcome;
    expect(bad).toMatchObject({ ok: false, code: 'validation_failed', message: expect.stringContaining('cannot be stored') });
    expect(first.filter((s) => s.outcome.ok)).toHaveLength(12);

    // Wave 2, all at once, past the limit: the call closes with the 24th; the rest are refused, whether by the validator or mid-batch.
    const second = await Promise.all(Array.from({ length: 18 }, (_, i) => application(`a${i + 13}`)).map(send));
    expect(second.filter((s) => s.outcome.ok)).toHaveLength(LIMIT - 12);
    expect(second.filter((s) => !s.outcome.ok).map((s) => !s.outcome.ok && s.outcome.code)).toEqual(Array(18 - (LIMIT - 12)).fill('deadline_passed'));

    // Every event once, numbered without a gap; nothing of the refused commands.
    const stored = await run.events();
    expect(stored.map((e) => e.eventId)).toEqual(stored.map((_, i) => `${run.id}#${i + 1}`));
    expect(stored.some((e) => (e.data as { title?: string }).title === REFUSED_TITLE)).toBe(false);

    // The same as applying the accepted commands one at a time, in the order they were recorded, each at its own instant.
    const accepted = [...first, ...second].filter((s): s is Sent & { outcome: { ok: true; result: CommandResult } } => s.outcome.ok);
    let serial: CycleState = evolveAll([toDomain(stored[0])]);
    const expected: CycleEvent[] = [stored[0]].map(toDomain);
    for (const e of stored.filter((x) => x.type === 'ApplicationSubmitted')) {
      const data = e.data as { applicationId: string; lead: { organisationId: string }; submittedAt: string };
      const sent = accepted.find((s) => (s.command.data as { applicationId: string }).applicationId === data.applicationId && s.command.actor.organisationId === data.lead.organisationId)!;
      const events = decide(sent.command, serial, data.submittedAt);
      // Each Update answered with its own events.
      expect(sent.outcome.result.events).toEqual(events.map((x) => x.type));
      expected.push(...events);
      serial = evolveAll(events, serial);
    }
    expect(stored.map(toDomain)).toEqual(expected);
    expect(evolveAll(stored.map(toDomain))).toEqual(serial);
    expect(serial.stage).toBe('review');

    // Recorded in batches: fewer appends than commands, and the refused batch was stored again one command at a time.
    const history = await run.handle.fetchHistory();
    const steps = decisionsInHistory(run.id, run.handle.firstExecutionRunId, history);
    const appends = new Map<number, typeof steps>();
    for (const step of steps) appends.set(step.scheduledEventId, [...(appends.get(step.scheduledEventId) ?? []), step]);
    const completed = [...appends.values()].filter((a) => a[0].completed);
    expect(completed.length).toBeLessThan(accepted.length);
    expect(completed.some((a) => a.filter((s) => s.event.type === 'ApplicationSubmitted').length > 1)).toBe(true);
    const refused = [...appends.values()].filter((a) => !a[0].completed);
    expect(refused.some((a) => a.length > 1 && a.some((s) => (s.event.data as { title?: string }).title === REFUSED_TITLE))).toBe(true);
    // The auditors' cross-check: every stored event traces to the append that stored it; the refused batch, which stored nothing, is no problem.
    const audit = crossCheck({ workflows: [{ workflowId: run.id, runId: run.handle.firstExecutionRunId, workflowType: 'programCycle', history }], events: stored });
    expect(audit).toMatchObject({ ok: true, problems: [], matched: stored.length });

    await recordHistoryFixture(run.handle, 'batched-commands');
    await cancelAndDrain(run);
  });

  it('cancelled from outside while commands are being recorded: what was accepted is recorded whole, then the cancellation', async () => {
    const run = await harness.start(defaultPolicy, { panel: PANEL });
    const ids = Array.from({ length: 10 }, (_, i) => `c${i + 1}`);
    const sent = ids.map((id) => run.send(application(id)).then((r) => r.events, () => null));
    await run.untilEvents('ApplicationSubmitted');
    await run.handle.cancel();
    await expect(run.result()).rejects.toThrow();
    const answered = await Promise.all(sent);
    const stored = await run.events();
    expect(stored.map((e) => e.eventId)).toEqual(stored.map((_, i) => `${run.id}#${i + 1}`));
    expect(stored[stored.length - 1].type).toBe('CycleCancelled');
    // Every Update answered with its events has them stored; no application is stored whose Update failed.
    const storedApps = stored.filter((e) => e.type === 'ApplicationSubmitted').map((e) => (e.data as { applicationId: string }).applicationId);
    expect(storedApps.sort()).toEqual(ids.filter((_, i) => answered[i] !== null).sort());
    expect(answered.filter((a) => a !== null)).toEqual(answered.filter((a) => a !== null).map(() => ['ApplicationSubmitted']));
  });
});

function toDomain(e: { type: string; data: unknown }): CycleEvent {
  return { type: e.type, data: e.data } as CycleEvent;
}
