import {
  evolve,
  initialState,
  rank,
  type Candidate,
  type CycleEvent,
  type CycleState,
  type EvaluationStage,
  type RankResult,
  type ReviewStage,
  type RoundRecord,
  type RunningCycle,
  type ScoreSheet,
  type SelectionStage,
} from '@concentra/domain';
import { canonicalJson } from '@concentra/domain';
import type { StoredEvent } from '@concentra/persistence';

/** What re-derivation needs of a stored event. */
export type DecisionSource = Pick<StoredEvent, 'streamId' | 'streamPosition' | 'eventId' | 'type' | 'data' | 'occurredAt'>;

export interface Difference {
  field: string;
  recorded: unknown;
  rederived: unknown;
}

export type DecisionKind = 'review_round' | 'selection' | 'narrowing' | 'refill';

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
  result: RankResult;
  /** What the proposal event itself recorded, where it carries a result (refill). */
  recorded?: RankResult;
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
  const roundResults = new Map<string, RankResult>();
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
          const result = rankRound(s, round, excludeBelowMinimum(s, round));
          roundResults.set(d.roundKey, result);
          const stage = s.policy.stages[round.stageIndex] as ReviewStage;
          const ranked = result.ranking.map((r) => r.candidateId);
          const kept = stage.keep === undefined ? ranked : ranked.slice(0, stage.keep);
          const dropped = liveInRound(s, round).filter((id) => !kept.includes(id));
          check(e, d.roundKey, 'review_round', [...compareSet('kept', d.kept, kept), ...compareSet('dropped', d.dropped, dropped), ...comparePolicy(d.policyHash, s)]);
          break;
        }
        case 'SelectionProposed': {
          const d = event.data;
          const stage = s.policy.stages[d.stageIndex] as SelectionStage;
          const result = roundResults.get(d.roundKey) ?? lastRoundResult(s, d.roundKey);
          const candidates = result.ranking.map((r) => r.candidateId).filter((id) => s.applications[id]?.status === 'submitted');
          const pool = Object.values(s.applications).filter((a) => a.status === 'submitted' && a.refillKey === null).map((a) => a.applicationId);
          proposals.set(d.decisionKey, { result, candidates, proposed: candidates.slice(0, stage.maxAwardees), pool });
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
          const result = rankRound(s, round, d.rerun ? false : excludeBelowMinimum(s, round));
          const candidates = result.ranking.map((r) => r.candidateId).filter((id) => s.applications[id]?.status === 'active');
          proposals.set(d.decisionKey, { result, candidates, proposed: candidates.slice(0, stage.narrowing.keep), pool: liveInRound(s, round) });
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
          const differences = [
            ...compareResult(d, proposal.result),
            ...comparePolicy(d.policyHash, s),
            ...compareOutcome(kept, dropped, d.overridden, d.rationale, d.approval, proposal, event.type === 'AwardeesSelected' ? ['awardees', 'notSelected'] : ['kept', 'dropped']),
          ];
          check(e, d.decisionKey, kind, differences);
          break;
        }
        case 'RefillRankingProposed': {
          const d = event.data;
          const round = s.rounds[d.refillKey];
          if (!round) break;
          const result = rankRound(s, round, excludeBelowMinimum(s, round));
          const candidates = result.ranking.map((r) => r.candidateId);
          proposals.set(d.refillKey, { result, recorded: d.result, candidates, proposed: candidates.slice(0, d.seats), pool: candidates });
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
            ...(proposal.recorded ? compareResult({ ...proposal.recorded, lottery: proposal.recorded.lottery ?? null }, proposal.result) : []),
            ...compareValue('scoreIds', d.scoreIds, proposal.result.scoreIds),
            ...compareValue('lottery', d.lottery, proposal.result.lottery ?? null),
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

/** Who is still in a scoring round: call or refill applications still competing, or active teams. */
function liveInRound(s: RunningCycle, round: RoundRecord): string[] {
  const status = round.kind === 'evaluation' ? 'active' : 'submitted';
  return round.candidates.filter((id) => s.applications[id]?.status === status);
}

/** The ranking of a round from its score sheets, as the policy's scheme and the published seed give it. */
function rankRound(s: RunningCycle, round: RoundRecord, excludeBelow: boolean): RankResult {
  const live = liveInRound(s, round);
  const candidates: Candidate[] = live.map((id) => ({
    id,
    submittedAt: round.kind === 'evaluation' ? round.submissions[id]?.submittedAt : s.applications[id].submittedAt,
    zeroed: round.zeroed.includes(id),
  }));
  const sheets: ScoreSheet[] = Object.values(round.sheets)
    .filter((sh) => live.includes(sh.applicationId))
    .map((sh) => ({ scoreId: sh.scoreId, candidateId: sh.applicationId, scorerId: sh.scorer, values: sh.scores, verdicts: sh.verdicts }));
  return rank({ scheme: s.policy.scoring[round.scoring], candidates, sheets, seed: `${s.lotterySeed}:${round.roundKey}`, excludeBelowMinimum: excludeBelow });
}

/** The policy's missing-scores rule: after one extension, applications still short may be left out. */
function excludeBelowMinimum(s: RunningCycle, round: RoundRecord): boolean {
  const scheme = s.policy.scoring[round.scoring];
  const rule = s.policy.missingInputs.scores;
  const sheets = Object.values(round.sheets);
  const missing = liveInRound(s, round)
    .filter((id) => !round.zeroed.includes(id))
    .some((id) => sheets.filter((sh) => sh.applicationId === id).length < scheme.minimumScoresPerApplication);
  return missing && round.extended && rule.stillMissingAfterExtension === 'exclude_application';
}

function lastRoundResult(s: RunningCycle, roundKey: string): RankResult {
  const round = s.rounds[roundKey];
  return round ? rankRound(s, round, excludeBelowMinimum(s, round)) : { ranking: [], removedByGate: [], excluded: [], scoreIds: [], inputsHash: '' };
}

type RecordedDecision = {
  ranking: RankResult['ranking'];
  removedByGate: RankResult['removedByGate'];
  scoreIds: string[];
  lottery: RankResult['lottery'] | null;
  inputsHash: string;
};

/** Ranking order, totals, tie-breaks, gate removals, the lottery and the inputs hash. */
function compareResult(recorded: RecordedDecision, rederived: RankResult): Difference[] {
  const out: Difference[] = [];
  const ids = (r: RankResult['ranking']) => r.map((x) => x.candidateId);
  out.push(...compareValue('ranking.order', ids(recorded.ranking), ids(rederived.ranking)));
  const byId = new Map(rederived.ranking.map((r) => [r.candidateId, r]));
  for (const r of recorded.ranking) {
    const again = byId.get(r.candidateId);
    if (!again) continue;
    if (r.total !== again.total) out.push({ field: `ranking[${r.candidateId}].total`, recorded: r.total, rederived: again.total });
    if ((r.tieBrokenBy ?? null) !== (again.tieBrokenBy ?? null)) out.push({ field: `ranking[${r.candidateId}].tieBrokenBy`, recorded: r.tieBrokenBy, rederived: again.tieBrokenBy });
  }
  out.push(...compareValue('removedByGate', recorded.removedByGate, rederived.removedByGate));
  out.push(...compareValue('scoreIds', [...recorded.scoreIds].sort(), [...rederived.scoreIds].sort()));
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
  const expectedKept = proposal.proposed.filter((id) => proposal.pool.includes(id));
  if (!overridden) {
    out.push(...compareSet(keptField, kept, expectedKept));
  } else {
    if (!rationale) out.push({ field: 'rationale', recorded: rationale, rederived: 'an override needs a rationale' });
    if (approval === 'policy default') out.push({ field: 'approval', recorded: approval, rederived: 'an override needs a person who approved it' });
    const unknown = kept.filter((id) => !proposal.candidates.includes(id));
    if (unknown.length) out.push({ field: keptField, recorded: kept, rederived: `not candidates of the ranking: ${unknown.join(', ')}` });
  }
  const expectedDropped = proposal.pool.filter((id) => !kept.includes(id));
  out.push(...compareSet(droppedField, dropped, expectedDropped));
  return out;
}

function comparePolicy(recorded: string, s: RunningCycle): Difference[] {
  return recorded === s.policyHash ? [] : [{ field: 'policyHash', recorded, rederived: s.policyHash }];
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
