/**
 * Who did it (issue 15, item 9). The actor recorded with an event is whoever sent the command that
 * caused it; a consequence of a rule is not that person's act. A narrowing that takes effect when
 * the last affected team waives its objection eliminates the others by the program manager's
 * decision, not by the waiving applicant: the timelines say so, and name the waiver as the cause.
 *
 * `attribute` walks a cycle's events in order and returns, per event, who is answerable for it,
 * what triggered it, and (for consequences) the sentence that says so. Events without an entry read
 * as their own sentence (event-sentences.ts) by the recorded actor.
 */
import type { StoredEvent } from '@concentra/persistence';
import type { CycleEvent } from '@concentra/domain';
import { peerDeclineSentence, peerReviewsMissedSentence, reportConsequenceSentence, reportsOutstandingSentence, sanctionLiftedSentence } from './event-sentences';

export interface Attribution {
  /** Who is answerable: the decision's approver, `policy default`, or `policy` for a rule the policy applies by itself. */
  who: string;
  /** The action that set it off, as a sentence. */
  cause: string;
  /** The sentence that replaces the event's own, when the event is a consequence. */
  summary?: string;
}

type Source = Pick<StoredEvent, 'eventId' | 'streamId' | 'streamPosition' | 'type' | 'data' | 'metadata'>;
type Data = Record<string, unknown>;

/** The act a command is itself: its own events are the sender's; anything else it caused is a consequence. */
const OWN_EVENTS: Record<string, string[]> = {
  WaiveObjection: ['ObjectionWaived'],
  ObjectToDecision: ['ObjectionFiled'],
  DecideObjection: ['ObjectionDecided'],
};

const TRIGGERS: Record<string, string> = {
  WaiveObjection: 'the waiver of',
  ObjectToDecision: 'the objection of',
  DecideObjection: 'the decision on an objection by',
};

function trigger(e: Source, windowClosed: { early: boolean } | undefined): string {
  const causation = e.metadata.causationId;
  const subject = e.metadata.actor?.subject ?? 'the system';
  if (causation === 'DeadlinePassed') return windowClosed && !windowClosed.early ? 'the objection window ran out' : 'a deadline passed';
  const act = (causation && TRIGGERS[causation]) ?? `${(causation ?? 'a command').replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase()} by`;
  const early = windowClosed?.early ? ', the last of the affected teams to answer, which closed the objection window early' : '';
  return `${act} ${subject}${early}`;
}

interface Decision {
  kind: 'selection' | 'narrowing';
  by: string;
}

const decisionOf = (d: Data): string => {
  const approval = d.approval as { by?: string } | string | undefined;
  return typeof approval === 'object' && approval.by ? approval.by : 'policy default';
};

const byWhom = (dec: Decision) => (dec.by === 'policy default' ? 'taken by policy default (nobody approved in time)' : `of ${dec.by}`);

/** Per event id: who is answerable, the cause, and the consequence's sentence. */
export function attribute(events: readonly Source[]): Map<string, Attribution> {
  const out = new Map<string, Attribution>();
  const streams = new Map<string, Source[]>();
  for (const e of events) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  for (const stream of streams.values()) {
    const decisions = new Map<string, Decision>();
    const windows = new Map<string, { early: boolean }>();
    let current: string | null = null;
    for (const e of [...stream].sort((a, b) => a.streamPosition - b.streamPosition)) {
      const d = e.data as Data;
      if (e.type === 'AwardeesSelected' || e.type === 'TeamsNarrowed') {
        current = String(d.decisionKey);
        decisions.set(current, { kind: e.type === 'AwardeesSelected' ? 'selection' : 'narrowing', by: decisionOf(d) });
        windows.delete(current);
      }
      if (e.type === 'ObjectionWindowClosed') windows.set(String(d.decisionKey), { early: d.early === true });
      const causation = e.metadata.causationId ?? '';

      if (e.type === 'TeamEliminated') {
        const id = String(d.applicationId);
        if (d.reason === 'no_submission') {
          out.set(e.eventId, { who: 'policy', cause: 'the model submission deadline passed', summary: `"${id}" eliminated in round ${String(d.round)} by the policy's rule for a team that submits no model (evaluationSubmission: eliminate)` });
          continue;
        }
        const key = String(d.decisionKey);
        const dec = decisions.get(key);
        if (!dec) continue;
        const window = windows.get(key);
        const effective = window ? 'effective when the objection window closed' : 'effective as it was taken';
        out.set(e.eventId, { who: dec.by, cause: trigger(e, window), summary: `"${id}" eliminated by the ${dec.kind} decision ${byWhom(dec)}, ${effective}` });
        continue;
      }
      if (e.type === 'GrantReportConsequenceApplied') {
        // Issue 15: a missing report's consequence is the policy's rule, set off by the report's due date passing.
        const c = d as Parameters<typeof reportConsequenceSentence>[0];
        out.set(e.eventId, { who: 'policy', cause: `report "${c.reportId}" of "${c.applicationId}" was not in by ${c.dueAt}`, summary: reportConsequenceSentence(c) });
        continue;
      }
      if (e.type === 'GrantSanctionLifted') {
        // The lift is the policy's rule, set off by the late report's acceptance (or submission).
        const l = d as Extract<CycleEvent, { type: 'GrantSanctionLifted' }>['data'];
        out.set(e.eventId, { who: 'policy', cause: `${trigger(e, undefined)}: report "${l.reportId}" of "${l.applicationId}" ${l.on === 'on_acceptance' ? 'accepted' : 'submitted'} late`, summary: sanctionLiftedSentence(l) });
        continue;
      }
      if (e.type === 'GrantReportsOutstanding') {
        const o = d as Extract<CycleEvent, { type: 'GrantReportsOutstanding' }>['data'];
        out.set(e.eventId, { who: 'policy', cause: `the cycle ${o.ending === 'cancelled' ? 'was cancelled' : 'closed'} with reports of "${o.applicationId}" outstanding`, summary: reportsOutstandingSentence(o) });
        continue;
      }
      // Budgets and pools (issue 15): what a pool awards and that it ran out are the policy's rule, applied when the selection was proposed.
      if (e.type === 'FundingPoolsAllocated' || e.type === 'PoolExhausted') {
        out.set(e.eventId, { who: 'policy', cause: `the selection proposed after ${trigger(e, undefined)}` });
        continue;
      }
      if (e.type === 'PeerReviewsMissed') {
        // Issue 15: the peer-review rule applied when the review round closed, not anybody's act.
        const missed = d as Extract<CycleEvent, { type: 'PeerReviewsMissed' }>['data'];
        out.set(e.eventId, { who: 'policy', cause: `the review round ${missed.roundKey} closed with peer reviews owed`, summary: peerReviewsMissedSentence(missed) });
        continue;
      }
      if (e.type === 'PeerReviewAssignmentDeclined') {
        // Issue 15: the decline is the applicant's act; who reviews in its place is the policy's peer-review rule.
        const dec = d as Extract<CycleEvent, { type: 'PeerReviewAssignmentDeclined' }>['data'];
        out.set(e.eventId, { who: 'policy', cause: `the decline by ${dec.by} of the peer review of "${dec.applicationId}"`, summary: peerDeclineSentence(dec) });
        continue;
      }
      if (e.type === 'ObjectionWindowClosed' && OWN_EVENTS[causation]) {
        out.set(e.eventId, { who: 'policy', cause: trigger(e, undefined) });
        continue;
      }
      // Anything else a waiver, an objection or its dismissal set off: the decision taking effect, by
      // its rule, not the sender's act. (A decision proposed again after an upheld objection is the
      // act of whoever upheld it.)
      if (OWN_EVENTS[causation] && !OWN_EVENTS[causation].includes(e.type) && !e.type.endsWith('Proposed') && current && decisions.has(current)) {
        const dec = decisions.get(current)!;
        out.set(e.eventId, { who: dec.by, cause: trigger(e, windows.get(current)) });
      }
    }
  }
  return out;
}
