/**
 * An objection window that starts when the affected team is notified (policy
 * `objections.windowStartsAt: notified`), on the time-skipping test server with the real relay
 * delivering to an SMTP server on loopback: a team whose notice is delivered has its window start
 * at the cycle's next look at the outbox; a team nobody can reach has it start at the policy's
 * bound, and the program managers are told. Nothing waits on a mailbox.
 */
import { defaultPolicy, defaultPolicyDocument, parsePolicy } from '@concentra/domain';
import { Directory, NotificationRelay } from '@concentra/notifications';
import { startSmtpSink } from '@concentra/tools/smtp-sink';
import { useCycleHarness } from '../cycle-harness';
import { PANEL, cancelAndDrain, expectRefused, toNarrowing } from '../cycle-drivers';
import { recordHistoryFixture } from '../../../test/support/histories';
import { applicantOf, pm } from '../../../libs/domain/src/cycle/testing';

const DAY = 86_400_000;
const policy = {
  ...parsePolicy({ ...defaultPolicyDocument, objections: { ...defaultPolicyDocument.objections, windowStartsAt: 'notified', notifiedWithin: 'P2D' } }),
  repeatEvery: undefined,
};

describe('an objection window that starts on notice', () => {
  const harness = useCycleHarness();

  it('starts for reached teams when their notice is delivered, for an unreachable one at the bound, and then runs its days', async () => {
    expect(policy.objections).toMatchObject({ windowStartsAt: 'notified', notifiedWithin: 'P2D' });
    expect(defaultPolicy.objections.windowStartsAt).toBeUndefined();
    const run = await harness.start(policy, { panel: PANEL });
    await toNarrowing(run, 5);
    expect(await run.send({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } })).toMatchObject({ events: ['TeamsNarrowed'], stage: 'objection' });
    const [narrowed] = await run.eventsOf('TeamsNarrowed');
    const decidedAt = Date.parse(narrowed.data.decidedAt as string);
    expect(narrowed.data).toMatchObject({ kept: ['a1', 'a2'], dropped: ['a3', 'a4', 'a5'], objectionWindowEndsAt: null, objectionWindow: { startsOn: 'notified', days: 10 } });
    const bound = new Date(decidedAt + 2 * DAY).toISOString();
    expect((await run.status()).nextDeadline).toEqual({ kind: 'objection_notice_due', at: bound });

    // a3 and a4 can be reached; nobody answers for a5. The worker's relay delivers what is due.
    const db = harness.database.db;
    const directory = new Directory(db);
    for (const team of ['a3', 'a4']) await directory.setContacts('organisation', `org-${team}`, [{ name: `Lead ${team}`, email: `lead@org-${team}.example`, role: 'lead', timeZone: 'Asia/Seoul' }]);
    await directory.setContacts('program', run.program, [{ name: 'Program manager', email: 'pm@ministry.example', role: 'program_manager', timeZone: 'Asia/Seoul' }]);
    const smtp = await startSmtpSink();
    const relay = new NotificationRelay(db, { smtpUrl: smtp.url });
    const deliver = async () => {
      for (let pass = 0; pass < 50; pass += 1) {
        const { addressed, attempts } = await relay.runOnce();
        if (addressed === 0 && attempts === 0) break;
      }
    };
    try {
      await deliver();
      const dropped = smtp.received.filter((m) => /was not kept in the narrowing/.test(m.parsed.subject ?? ''));
      expect(dropped.map((m) => m.to).sort()).toEqual([['lead@org-a3.example'], ['lead@org-a4.example']]);
      expect(dropped[0].parsed.text).toContain('You may object within 10 days of receiving this notice.');

      // The cycle looks at the outbox a minute after the decision: the two delivered notices start their windows.
      await harness.sleepUntil(decidedAt + 2 * 60_000);
      await run.untilEvents('ObjectionWindowStarted');
      const [reached] = await run.eventsOf('ObjectionWindowStarted');
      expect(reached.data).toMatchObject({ applicationIds: ['a3', 'a4'], notified: true, windowEndsAt: null });
      const startedAt = Date.parse(reached.data.startedAt as string);
      expect(startedAt).toBeGreaterThan(decidedAt);
      expect(startedAt).toBeLessThan(decidedAt + 2 * 60_000);
      expect((await run.status()).nextDeadline).toEqual({ kind: 'objection_notice_due', at: bound });

      // Nobody reaches a5: at the bound its window starts anyway and the program managers are told.
      const status = await run.passDeadline('objection_notice_due');
      const windowEndsAt = new Date(Date.parse(bound) + 10 * DAY).toISOString();
      expect(status.nextDeadline).toEqual({ kind: 'objection_window_end', at: windowEndsAt });
      const started = await run.eventsOf('ObjectionWindowStarted');
      expect(started.map((e) => e.data)).toEqual([reached.data, { decisionKey: narrowed.data.decisionKey, applicationIds: ['a5'], notified: false, startedAt: bound, windowEndsAt }]);
      expect((await run.eventsOf('EscalationRaised')).map((e) => e.data)).toEqual([expect.objectContaining({ reason: 'teams_not_notified', subject: 'a5' })]);
      await harness.poll('the escalation in the outbox', async () => ((await harness.outbox(run.id, 'escalation')).length === 1 ? true : undefined));
      await deliver();
      expect(smtp.received.filter((m) => m.to.includes('pm@ministry.example')).map((m) => m.parsed.subject)).toEqual(['Escalation: a decision waits for you']);

      // Every affected team may object until the decision's window ends, 10 days after the last start.
      await run.send({ type: 'ObjectToDecision', actor: applicantOf('org-a3'), data: { applicationId: 'a3', grounds: 'the benchmark run was cut short' } });
      await run.passDeadline('objection_window_end');
      await expectRefused(run, { type: 'WaiveObjection', actor: applicantOf('org-a4'), data: { applicationId: 'a4' } }, 'deadline_passed');
      expect((await run.eventsOf('ObjectionWindowClosed'))[0].data).toMatchObject({ closedAt: windowEndsAt, pending: ['a3'] });
      await run.send({ type: 'DecideObjection', actor: pm, data: { applicationId: 'a3', upheld: false, reasoning: 'the run completed' } });
      await run.untilEvents('TeamEliminated', 'TeamEliminated', 'TeamEliminated', 'ExtensionStarted');

      // A cancellation tells every team the cycle still holds (the two finalists) and the managers.
      await cancelAndDrain(run);
      const cancelled = (await harness.outbox(run.id, 'cycle_cancelled')).map((r) => r.recipient);
      expect(cancelled).toEqual([
        { role: 'applicant', applicationId: 'a1' },
        { role: 'applicant', applicationId: 'a2' },
        { role: 'program_manager' },
      ]);
      await recordHistoryFixture(run.handle, 'objection-window-on-notice');
    } finally {
      await relay.stop();
      await smtp.close();
    }
  });
});
