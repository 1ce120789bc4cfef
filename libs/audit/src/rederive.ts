import {
  closingRanking,
  decisionOutcome,
  decisionPool,
  evolve,
  initialState,
  liveInRound,
  measurementOf,
  narrowingCandidates,
  proposedOf,
  rankRound,
  rankingRecord,
  reviewRoundOutcome,
  selectionCandidates,
  selectionProposal,
  assignReviewers,
  missedPeerReviews,
  type CycleEvent,
  type CycleState,
  type EvaluationStage,
  type RankingRecord,
  type ReviewStage,
  type RunningCycle,
  type SelectionStage,
} from '@concentra/domain';
import { canonicalJson } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';
import { rederivePeer } from './rederive-peer';
import { rederiveReportFact } from './rederive-grant-reports';

/** What re-derivation needs of a stored event. */
export type DecisionSource = Pick<StoredEvent, 'streamId' | 'streamPosition' | 'eventId' | 'type' | 'data' | 'occurredAt'>;

export interface Difference {
  field: string;
  recorded: unknown;
  rederived: unknown;
}

export type DecisionKind =
  | 'review_round'
  | 'selection'
  | 'narrowing'
  | 'refill'
  | 'funding_lottery'
  | 'funding_pools'
  | 'reviewer_assignment'
  | 'benchmark'
  | 'peer_assignment'
  | 'peer_reviews_missed'
  | 'peer_decline'
  | 'grant_report';

export interface DecisionCheck {
  cycleId: string;
  decisionKey: string;
  kind: DecisionKind;
  eventId: string;
  type: string;
  position: number;
  occurredAt: string;
  ok: boolean;
  differences: Difference[];
}

export interface RederiveReport {
  ok: boolean;
  decisions: DecisionCheck[];
  /** What could not be checked, and why (e.g. a cycle written before the engine's decision events). */
  notes: string[];
}

interface Proposal {
  /** The ranking re-derived from the recorded inputs, in the compact form the events use. */
  result: RankingRecord;
  /** The ranking the events recorded for it (ReviewRoundClosed, NarrowingProposed or RefillRankingProposed). */
  recorded: RankingRecord | undefined;
  candidates: string[];
  proposed: string[];
  pool: string[];
}

/**
 * Recomputes every decision of every cycle in `events` with libs/domain's own ranking, from the
 * inputs the events record (score sheets by id, policy version, lottery seed, who was still in the
 * round), and lists each difference from what was recorded. A decision is checked against the
 * state the cycle was in just before it, rebuilt with the domain's `evolve`.
 */
export function rederive(events: readonly DecisionSource[]): RederiveReport {
  const streams = new Map<string, DecisionSource[]>();
  for (const e of events) if (e.streamId.startsWith('cycle:')) streams.set(e.streamId, [...(streams.get(e.streamId) ?? []), e]);
  const decisions: DecisionCheck[] = [];
  const notes: string[] = [];
  for (const [cycleId, stream] of [...streams.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const ordered = [...stream].sort((a, b) => a.streamPosition - b.streamPosition);
    const opened = ordered.find((e) => e.type === 'CallOpened');
    if (!opened || typeof (opened.data as { lotterySeed?: unknown }).lotterySeed !== 'string') {
      notes.push(`${cycleId}: no engine decision events (its CallOpened carries no policy and lottery seed); nothing to re-derive`);
      continue;
    }
    decisions.push(...rederiveCycle(cycleId, ordered, notes));
  }
  return { ok: decisions.every((d) => d.ok), decisions, notes };
}

function rederiveCycle(cycleId: string, events: DecisionSource[], notes: string[]): DecisionCheck[] {
  let state: CycleState = initialState;
  /** Per round: the ranking re-derived when it closed, and the one recorded then. */
  const roundResults = new Map<string, RankingRecord>();
  const recordedResults = new Map<string, RankingRecord>();
  const proposals = new Map<string, Proposal>();
  const checks: DecisionCheck[] = [];
  const check = (e: DecisionSource, decisionKey: string, kind: DecisionKind, differences: Difference[]) =>
    checks.push({ cycleId, decisionKey, kind, eventId: e.eventId, type: e.type, position: e.streamPosition, occurredAt: e.occurredAt, ok: differences.length === 0, differences });

  for (const e of events) {
    const event = { type: e.type, data: e.data } as unknown as CycleEvent;
    if (state.stage !== 'not_started') {
      const s = state;
      switch (event.type) {
        case 'ReviewRoundClosed': {
          const d = event.data;
          const round = s.rounds[d.roundKey];
          if (!round) {
            notes.push(`${cycleId} #${e.streamPosition}: review round ${d.roundKey} is not in the state`);
            break;
          }
          const result = rederiveRound(s, d.roundKey, false);
          roundResults.set(d.roundKey, result);
          recordedResults.set(d.roundKey, d.result);
          const stage = s.policy.stages[round.stageIndex] as ReviewStage;
          const { kept, dropped } = reviewRoundOutcome(stage, result.ranking.map((r) => r.candidateId), liveInRound(s, round));
          // Issue 15: every applicant that owed peer reviews met the policy's rule before the round was ranked.
          const unmet = missedPeerReviews(s, round, d.closedAt).map((m) => (m.data as { applicationId: string }).applicationId);
          const peers = unmet.length > 0 ? [{ field: 'peerReviewsMissed', recorded: [], rederived: unmet }] : [];
          check(e, d.roundKey, 'review_round', [...compareSet('kept', d.kept, kept), ...compareSet('dropped', d.dropped, dropped), ...comparePolicy(d.policyHash, s), ...peers]);
          break;
        }
        case 'SelectionProposed': {
          const d = event.data;
          const stage = s.policy.stages[d.stageIndex] as SelectionStage;
          const result = roundResults.get(d.roundKey) ?? rederiveRound(s, d.roundKey, false);
          const candidates = selectionCandidates(s, result.ranking.map((r) => r.candidateId));
          const pool = decisionPool(s, 'selection', d.roundKey);
          // The domain's own rule: the top `maxAwardees`, or by funding tiers and their draw (issue 15).
          const { proposed } = selectionProposal(s, stage, d.roundKey, d.decisionKey, candidates);
          proposals.set(d.decisionKey, { result, recorded: recordedResults.get(d.roundKey), candidates, proposed, pool });
          break;
        }
        case 'FundingLotteryDrawn': {
          // The draw again, from the recorded ranking and the published seed, with the domain's own rule.
          const { at: _at, ...recorded } = event.data;
          const round = s.rounds[recorded.roundKey];
          const stage = s.policy.stages.find((st): st is SelectionStage => st.kind === 'selection')!;
          const candidates = round?.result ? selectionCandidates(s, round.result.order) : [];
          const again = selectionProposal(s, stage, recorded.roundKey, recorded.decisionKey, candidates).draw;
          check(e, `${recorded.decisionKey}:lottery`, 'funding_lottery', compareValue('draw', recorded, again));
          break;
        }
        case 'FundingPoolsAllocated':
        case 'PoolExhausted': {
          // Budgets and pools (issue 15): the allocation again, from the recorded ranking (and draw), with the domain's own rule.
          const { at: _at, ...recorded } = event.data;
          const stage = s.policy.stages.find((st): st is SelectionStage => st.kind === 'selection')!;
          const roundKey = event.type === 'FundingPoolsAllocated' ? event.data.roundKey : lastReviewKey(s);
          const round = s.rounds[roundKey];
          const candidates = round?.result ? selectionCandidates(s, round.result.order) : [];
          const again = stage.funding ? selectionProposal(s, stage, roundKey, recorded.decisionKey, candidates).pools : null;
          if (event.type === 'FundingPoolsAllocated') check(e, `${recorded.decisionKey}:pools`, 'funding_pools', compareValue('allocation', recorded, again?.allocated));
          else check(e, `${recorded.decisionKey}:pool:${event.data.poolId}`, 'funding_pools', compareValue('exhausted', recorded, again?.exhausted.find((x) => x.poolId === event.data.poolId)));
          break;
        }
        case 'PeerReviewersAssigned': // Issue 15: distributed peer review (rederive-peer.ts).
        case 'PeerReviewsMissed':
        case 'PeerReviewAssignmentDeclined': {
          const c = rederivePeer(s, event);
          check(e, c.decisionKey, c.kind, c.differences);
          break;
        }
        case 'ReviewersAssigned': {
          // The assignment again, from the state as the round opened, with the domain's own rule.
          const { at, ...recorded } = event.data;
          const again = assignReviewers(s, recorded.roundKey, at).find((x) => x.type === 'ReviewersAssigned');
          const { at: _again, ...rederived } = (again?.data ?? {}) as { at?: string };
          check(e, `${recorded.roundKey}:assignment`, 'reviewer_assignment', compareValue('assignment', recorded, rederived));
          break;
        }
        case 'GrantReportMissed':
        case 'GrantReportConsequenceApplied':
        case 'GrantSanctionLifted':
        case 'GrantReportsOutstanding': {
          // Issue 15: a report's fact again, from the state just before it, with the domain's own rule (rederive-grant-reports.ts).
          const { key, again } = rederiveReportFact(s, event);
          check(e, key, 'grant_report', compareValue('consequence', event, again));
          break;
        }
        case 'NarrowingProposed': {
          const d = event.data;
          const round = s.rounds[d.roundKey];
          if (!round) {
            notes.push(`${cycleId} #${e.streamPosition}: evaluation round ${d.roundKey} is not in the state`);
            break;
          }
          const stage = s.policy.stages[d.stageIndex] as EvaluationStage;
          // A re-proposal after an upheld objection ranks the closed round again: the ranking it closed with.
          const result = (round.closed ? roundResults.get(d.roundKey) : undefined) ?? rederiveRound(s, d.roundKey, d.rerun);
          roundResults.set(d.roundKey, result);
          const candidates = narrowingCandidates(s, result.ranking.map((r) => r.candidateId));
          proposals.set(d.decisionKey, { result, recorded: d.result, candidates, proposed: proposedOf(candidates, stage.narrowing.keep), pool: decisionPool(s, 'narrowing', d.roundKey) });
          break;
        }
        case 'AwardeesSelected':
        case 'TeamsNarrowed': {
          const d = event.data;
          const kept = event.type === 'AwardeesSelected' ? event.data.awardees : event.data.kept;
          const dropped = event.type === 'AwardeesSelected' ? event.data.notSelected : event.data.dropped;
          const proposal = proposals.get(d.decisionKey);
          const kind: DecisionKind = event.type === 'AwardeesSelected' ? 'selection' : 'narrowing';
          if (!proposal) {
            check(e, d.decisionKey, kind, [{ field: 'proposal', recorded: null, rederived: 'no proposal precedes this decision' }]);
            break;
          }
          const recorded = { order: d.ranking, tieBrokenBy: d.tieBrokenBy, totals: proposal.recorded, removedByGate: d.removedByGate, scoreCount: d.scoreCount, lottery: d.lottery, inputsHash: d.inputsHash };
          const differences = [
            ...compareResult(recorded, proposal.result),
            ...comparePolicy(d.policyHash, s),
            ...compareOutcome(kept, dropped, d.overridden, d.rationale, d.approval, proposal, event.type === 'AwardeesSelected' ? ['awardees', 'notSelected'] : ['kept', 'dropped']),
          ];
          check(e, d.decisionKey, kind, differences);
          break;
        }
        case 'BenchmarkResultRecorded': {
          // The measurement from its recorded outcomes, suite seed and policy: score, interval, points.
          const d = event.data;
          const round = s.rounds[d.roundKey];
          if (!round) break;
          const again = measurementOf(s, round, d);
          const fields = ['criterion', 'accuracy', 'interval', 'items', 'correct', 'errors', 'points'] as const;
          check(e, `${d.roundKey}/${d.applicationId}`, 'benchmark', fields.flatMap((f) => compareValue(f, d[f], again[f])));
          break;
        }
        case 'RefillRankingProposed': {
          const d = event.data;
          const round = s.rounds[d.refillKey];
          if (!round) break;
          const result = rederiveRound(s, d.refillKey, false);
          const candidates = result.ranking.map((r) => r.candidateId);
          proposals.set(d.refillKey, { result, recorded: d.result, candidates, proposed: proposedOf(candidates, d.seats), pool: candidates });
          break;
        }
        case 'RefillEntrantsSelected': {
          const d = event.data;
          const proposal = proposals.get(d.refillKey);
          if (!proposal) {
            // Nobody applied (or was ranked): the only decision the policy allows is none.
            check(e, d.refillKey, 'refill', d.entrants.length === 0 ? [] : [{ field: 'entrants', recorded: d.entrants, rederived: [] }]);
            break;
          }
          const differences = [
            // Totals and tie-breaks as the proposal recorded them; what the decision itself recorded of the inputs.
            ...compareResult({ ...(proposal.recorded ? asRecorded(proposal.recorded) : asRecorded(proposal.result)), scoreCount: d.scoreCount, lottery: d.lottery, inputsHash: d.inputsHash }, proposal.result),
            ...comparePolicy(d.policyHash, s),
          ];
          const unknown = d.entrants.filter((id) => !proposal.candidates.includes(id));
          if (unknown.length) differences.push({ field: 'entrants', recorded: d.entrants, rederived: `not candidates of the refill ranking: ${unknown.join(', ')}` });
          if (d.entrants.length > d.seats) differences.push({ field: 'entrants', recorded: d.entrants.length, rederived: `at most ${d.seats} seat(s)` });
          if (!sameSet(d.entrants, proposal.proposed) && !d.rationale) differences.push({ field: 'rationale', recorded: null, rederived: 'a rationale is required when entrants differ from the ranking' });
          check(e, d.refillKey, 'refill', differences);
          break;
        }
        default:
          break;
      }
    }
    state = evolve(state, event);
  }
  return checks;
}

/**
 * The ranking of an open round from its score sheets (as the events put them into the state), with
 * the domain's own `closingRanking`: the policy's scheme, the cycle's rules version and the published
 * seed. `rerun` re-ranks without the missing-scores exclusion.
 */
function rederiveRound(s: RunningCycle, roundKey: string, rerun: boolean): RankingRecord {
  const round = s.rounds[roundKey];
  if (!round) return { criteria: [], ranking: [], removedByGate: [], excluded: [], lottery: null, scoreCount: 0, inputsHash: '', rulesVersion: s.rulesVersion };
  if (rerun) return rankingRecord(rankRound(s, round, false), s.policy.scoring[round.scoring], s.rulesVersion);
  return closingRanking(s, round).record;
}

/** What the events recorded of a ranking, for comparison. */
type RecordedDecision = {
  order: string[];
  tieBrokenBy: Record<string, string>;
  /** The ranking event with the totals (absent when none was recorded). */
  totals: RankingRecord | undefined;
  removedByGate: RankingRecord['removedByGate'];
  scoreCount: number;
  lottery: RankingRecord['lottery'];
  inputsHash: string | null;
};

function asRecorded(r: RankingRecord): RecordedDecision {
  return {
    order: r.ranking.map((x) => x.candidateId),
    tieBrokenBy: Object.fromEntries(r.ranking.filter((x) => x.tieBrokenBy).map((x) => [x.candidateId, x.tieBrokenBy!])),
    totals: r,
    removedByGate: r.removedByGate,
    scoreCount: r.scoreCount,
    lottery: r.lottery,
    inputsHash: r.inputsHash,
  };
}

/** Ranking order, totals, tie-breaks, gate removals, the lottery and the inputs hash. */
function compareResult(recorded: RecordedDecision, rederived: RankingRecord): Difference[] {
  const out: Difference[] = [];
  out.push(...compareValue('ranking.order', recorded.order, rederived.ranking.map((x) => x.candidateId)));
  const totals = new Map((recorded.totals?.ranking ?? []).map((r) => [r.candidateId, r.total]));
  for (const again of rederived.ranking) {
    const id = again.candidateId;
    const total = totals.get(id);
    if (total !== undefined && total !== again.total) out.push({ field: `ranking[${id}].total`, recorded: total, rederived: again.total });
    if (recorded.order.includes(id) && (recorded.tieBrokenBy[id] ?? null) !== (again.tieBrokenBy ?? null)) {
      out.push({ field: `ranking[${id}].tieBrokenBy`, recorded: recorded.tieBrokenBy[id] ?? null, rederived: again.tieBrokenBy ?? null });
    }
  }
  out.push(...compareValue('removedByGate', recorded.removedByGate, rederived.removedByGate));
  out.push(...compareValue('scoreCount', recorded.scoreCount, rederived.scoreCount));
  out.push(...compareValue('lottery', recorded.lottery ?? null, rederived.lottery ?? null));
  out.push(...compareValue('inputsHash', recorded.inputsHash, rederived.inputsHash));
  return out;
}

function compareOutcome(
  kept: string[],
  dropped: string[],
  overridden: boolean,
  rationale: string | null,
  approval: unknown,
  proposal: Proposal,
  [keptField, droppedField]: [string, string],
): Difference[] {
  const out: Difference[] = [];
  if (!overridden) {
    // Not overridden: the decision keeps what the ranking proposed, of those still competing.
    out.push(...compareSet(keptField, kept, decisionOutcome(proposal.proposed, proposal.pool).kept));
  } else {
    if (!rationale) out.push({ field: 'rationale', recorded: rationale, rederived: 'an override needs a rationale' });
    if (approval === 'policy default') out.push({ field: 'approval', recorded: approval, rederived: 'an override needs a person who approved it' });
    const unknown = kept.filter((id) => !proposal.candidates.includes(id));
    if (unknown.length) out.push({ field: keptField, recorded: kept, rederived: `not candidates of the ranking: ${unknown.join(', ')}` });
  }
  out.push(...compareSet(droppedField, dropped, decisionOutcome(kept, proposal.pool).dropped));
  return out;
}

function comparePolicy(recorded: string, s: RunningCycle): Difference[] {
  return recorded === s.policyHash ? [] : [{ field: 'policyHash', recorded, rederived: s.policyHash }];
}

/** The last closed review round (a selection proposes from it). */
function lastReviewKey(s: RunningCycle): string {
  const reviews = Object.values(s.rounds).filter((r) => r.kind === 'review' && r.result);
  return reviews.sort((a, b) => b.round - a.round)[0]?.roundKey ?? '';
}

function compareValue(field: string, recorded: unknown, rederived: unknown): Difference[] {
  return canonicalJson(recorded ?? null) === canonicalJson(rederived ?? null) ? [] : [{ field, recorded, rederived }];
}

function compareSet(field: string, recorded: string[], rederived: string[]): Difference[] {
  return sameSet(recorded, rederived) ? [] : [{ field, recorded: [...recorded].sort(), rederived: [...rederived].sort() }];
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

export function formatRederivation(report: RederiveReport): string[] {
  const lines = report.decisions.map((d) =>
    d.ok
      ? `ok      ${d.cycleId} ${d.decisionKey} (${d.type} #${d.position}, ${d.occurredAt})`
      : `DIFFERS ${d.cycleId} ${d.decisionKey} (${d.type} #${d.position}, ${d.occurredAt})\n${d.differences
          .map((x) => `          ${x.field}: recorded ${JSON.stringify(x.recorded)}, re-derived ${JSON.stringify(x.rederived)}`)
          .join('\n')}`,
  );
  return [...lines, ...report.notes.map((n) => `note    ${n}`)];
}
