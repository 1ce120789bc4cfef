/** Who did it (issue 15, item 9): consequences read as the rule's, with the triggering action as their cause. */
import type { CycleCommand, CycleEvent } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';
import { applicantOf, pm, playToNarrowing, type Scenario } from '../../domain/src/cycle/testing';
import { describeEvent } from './event-sentences';
import { cycleTimelineEntries, formatTimeline, timeline } from './timeline';

const cycleId = 'cycle:select-and-concentrate:2027';

/** Records what the scenario's commands cause as the workflow does: the sender and the command with each event. */
function recording(sc: Scenario): () => StoredEvent[] {
  const senders: Array<CycleCommand | null> = sc.events.map(() => null);
  const run = sc.run.bind(sc);
  sc.run = (command: CycleCommand) => {
    const events = run(command);
    senders.push(...events.map(() => command));
    return events;
  };
  return () =>
    sc.events.map((e: CycleEvent, i) => ({
      streamId: cycleId,
      streamPosition: i + 1,
      globalPosition: i + 1,
      eventId: `${cycleId}#${i + 1}`,
      type: e.type,
      data: e.data as unknown as Record<string, unknown>,
      metadata: senders[i] ? { actor: senders[i]!.actor, causationId: senders[i]!.type } : { actor: { role: 'system', subject: 'workflow' }, causationId: 'DeadlinePassed' },
      occurredAt: new Date(Date.parse('2027-01-04T09:00:00.000Z') + i * 1000).toISOString(),
      recordedAt: '2027-01-04T09:00:00.000Z',
      prevHash: null,
      hash: 'h',
      schemaVersion: 1,
    }));
}

describe('who did it', () => {
  it('given a narrowing approved by pm-1, when the last eliminated team waives, then the eliminations read as the decision of pm-1, effective when the window closed, set off by the waiver', () => {
    const sc = playToNarrowing();
    const stored = recording(sc);
    sc.run({ type: 'ApproveNarrowing', actor: pm, data: { round: 1 } });
    for (const id of ['a3', 'a4', 'a5']) sc.run({ type: 'WaiveObjection', actor: applicantOf(`org-${id}`), data: { applicationId: id } });

    const entries = timeline(stored());
    const eliminated = entries.filter((e) => e.type === 'TeamEliminated');
    expect(eliminated.map((e) => [e.who, e.summary])).toEqual(
      ['a3', 'a4', 'a5'].map((id) => ['pm-1', `"${id}" eliminated by the narrowing decision of pm-1, effective when the objection window closed`]),
    );
    expect(eliminated.every((e) => e.cause === 'the waiver of user@org-a5, the last of the affected teams to answer, which closed the objection window early')).toBe(true);
    expect(entries.find((e) => e.type === 'ObjectionWindowClosed')).toMatchObject({ who: 'policy', cause: expect.stringContaining('the waiver of user@org-a5') });
    expect(entries.filter((e) => e.type === 'ObjectionWaived').map((e) => e.who)).toEqual(['user@org-a3', 'user@org-a4', 'user@org-a5']);
    expect(entries.filter((e) => e.type === 'GrantExtended' || e.type === 'ExtensionStarted').every((e) => e.who === 'pm-1')).toBe(true);
    expect(formatTimeline(entries).find((l) => l.includes('"a3" eliminated'))).toMatch(/TeamEliminated {2}by pm-1 .*effective when the objection window closed; set off by the waiver of user@org-a5/);

    // The cycle's own timeline (the API's) keeps the recorded actor and adds who is answerable and why.
    const own = cycleTimelineEntries(stored()).find((e) => e.type === 'TeamEliminated')!;
    expect(own).toMatchObject({ actor: 'applicant:user@org-a5', by: 'pm-1', summary: '"a3" eliminated by the narrowing decision of pm-1, effective when the objection window closed' });
  });

  it('given nobody approves and nobody objects, then the eliminations are the policy default\'s, set off by the window running out', () => {
    const sc = playToNarrowing();
    const stored = recording(sc);
    sc.fire('narrowing_approval_due');
    sc.fire('objection_window_end');
    const eliminated = timeline(stored()).filter((e) => e.type === 'TeamEliminated');
    expect(eliminated).toHaveLength(3);
    expect(eliminated[0]).toMatchObject({
      who: 'policy default',
      summary: '"a3" eliminated by the narrowing decision taken by policy default (nobody approved in time), effective when the objection window closed',
      cause: 'the objection window ran out',
    });
  });

  it('summaries are sentences, not key=value lists', () => {
    expect(describeEvent('ProgramArchived', { slug: 'ai-2027', reason: 'superseded', stage: 'x' })).toBe('program archived, with slug ai-2027, reason superseded');
    expect(describeEvent('SomethingNew', {})).toBe('something new');
    const review = describeEvent('ReviewSubmitted', { reviewId: 'r1', applicationId: 'a1', reviewer: 'reviewer-1', scores: { technical: 7, team: 5, impact: 6 }, verdicts: {}, roundKey: 'review:1', submittedAt: '' });
    expect(review).toBe('review r1 of "a1" submitted by reviewer-1, scoring technical 7, team 5 and impact 6');
    for (const s of [review, describeEvent('ProgramArchived', { slug: 'x' })]) expect(s).not.toMatch(/=|\{/);
  });
});

describe('a release checked against the evaluated model reads as such', () => {
  it('says whether the release includes the evaluated model', () => {
    const base = { applicationId: 'a1', repository: 'https://git.example/a1', licence: 'MIT', artifacts: [], declaredBy: 'user@org-a1', at: '' };
    expect(describeEvent('ModelReleased', { ...base, verification: { evaluatedSha256: 'a'.repeat(64), matched: false } })).toBe(
      '"a1" released its basic model at https://git.example/a1 under MIT, not verified: no artifact is the evaluated model (sha256 aaaaaaaaaaaa)',
    );
    expect(describeEvent('ModelReleased', { ...base, verification: { evaluatedSha256: 'a'.repeat(64), matched: true } })).toMatch(/, verified: it includes the evaluated model$/);
    expect(describeEvent('ModelReleased', base)).toBe('"a1" released its basic model at https://git.example/a1 under MIT');
  });
});

describe('a missing grant report reads as the policy rule that acted on it', () => {
  it('attributes each consequence to the policy, names the rule and the report, and the due date passing as its cause', () => {
    const data = { applicationId: 'a3', grantId: 'grant:p:2027:a3', reportId: 'm1', kind: 'milestone', action: 'throttle', step: 1, rule: 'grantReports.onMissing[1]', after: 'P7D', dueAt: '2027-09-01T00:00:00.000Z', at: '2027-09-08T00:00:00.000Z' };
    const event = {
      streamId: cycleId, streamPosition: 7, globalPosition: 7, eventId: `${cycleId}#7`, type: 'GrantReportConsequenceApplied', data,
      metadata: { actor: { role: 'system', subject: 'workflow' }, causationId: 'DeadlinePassed' },
      occurredAt: data.at, recordedAt: data.at, prevHash: null, hash: 'h', schemaVersion: 1,
    } as StoredEvent;
    const [entry] = timeline([event]);
    expect(entry).toMatchObject({
      who: 'policy',
      cause: 'report "m1" of "a3" was not in by 2027-09-01T00:00:00.000Z',
      summary: '"a3" GPUs throttled by the policy\'s rule grantReports.onMissing[1] (throttle P7D after the due date) for its missing milestone report "m1", due 2027-09-01T00:00:00.000Z',
    });
  });
});
