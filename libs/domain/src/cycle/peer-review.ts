/**
 * Distributed peer review (issue 15, item 2; policy `review.peerReview`). When a review round opens,
 * every applicant in it is assigned `perApplicant` other applications of the round:
 *
 * - never its own, never one that shares an organisation with it (the same lead, or an organisation
 *   in both consortia: peer-review-state.ts `peerConflict`);
 * - the least reviewed so far first, so that every application receives about as many peer reviews;
 *   then a seeded order (`<lotterySeed>:<roundKey>:peer`), so the same seed assigns the same way and
 *   nobody is favoured by the spelling of an id;
 * - the most constrained applicants (fewest eligible applications) are served first.
 *
 * Only the assigned may review (decide-peer-review.ts); one may decline, with a reason, and the
 * review is reassigned (peer-review-decline.ts). Their sheets count `weight` times a panel
 * review in the means (`peerWeighted`). When the round closes, an applicant that has not submitted
 * every review it owes meets `onMissedReviews` (`missedPeerReviews`), one PeerReviewsMissed each,
 * before the round is ranked.
 */
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { PeerReviewPolicy, ReviewStage } from '../policy/schema';
import { createPrng } from '../scoring/lottery';
import type { Candidate, ScoreSheet } from '../scoring/weighted';
import type { CycleEvent } from './events';
import type { PeerExclusionReason, PeerReviewersAssigned } from './peer-review-events';
import { peerAssignments, peerScorer } from './peer-review-state';
import { hasSheetBy } from './sheets';
import type { RoundRecord, RunningCycle } from './state';

/** The review stage's peer-review policy, if the round is a review round that has one. */
export function peerPolicy(s: RunningCycle, round: RoundRecord): PeerReviewPolicy | undefined {
  if (round.kind !== 'review') return undefined;
  return (s.policy.stages[round.stageIndex] as ReviewStage).peerReview;
}

const seeded = (seed: string, id: string) => bytesToHex(sha256(utf8ToBytes(`${seed}:${id}`)));

/** Per applicant of the round, the others it may not review and why (same lead, or a shared organisation), in candidate order. */
function conflictsIn(s: RunningCycle, ids: readonly string[]): Map<string, Map<string, PeerExclusionReason>> {
  const inRound = new Set(ids);
  const byLead = new Map<string, string[]>();
  for (const id of ids) byLead.set(s.applications[id].lead, [...(byLead.get(s.applications[id].lead) ?? []), id]);
  const place = new Map(ids.map((id, i) => [id, i]));
  // Each pair is recorded once (peer-review-state.ts); both ways here.
  const shared = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const r of ids) {
    for (const t of s.applications[r].sharesOrganisationWith ?? []) {
      if (!inRound.has(t)) continue;
      shared.get(r)!.push(t);
      shared.get(t)!.push(r);
    }
  }
  return new Map(
    ids.map((r) => {
      const found = new Map<string, PeerExclusionReason>();
      for (const t of byLead.get(s.applications[r].lead)!) if (t !== r) found.set(t, 'same_organisation');
      for (const t of shared.get(r)!) if (!found.has(t)) found.set(t, 'consortium_member');
      return [r, new Map([...found].sort(([a], [b]) => place.get(a)! - place.get(b)!))];
    }),
  );
}

/** Assigns every applicant of a review round that was just opened (its ReviewRoundOpened is in `s`). */
export function assignPeerReviewers(s: RunningCycle, roundKey: string, now: string): CycleEvent[] {
  const round = s.rounds[roundKey];
  const policy = peerPolicy(s, round);
  if (!policy || round.dueAt === null) return [];
  const seed = `${s.lotterySeed}:${roundKey}:peer`;
  const ids = round.candidates;
  const conflicts = conflictsIn(s, ids);
  const eligible = new Map(ids.map((r) => [r, ids.filter((t) => t !== r && !conflicts.get(r)!.has(t))]));
  const draw = new Map(ids.map((r) => [r, seeded(seed, r)]));
  const order = [...ids].sort((a, b) => eligible.get(a)!.length - eligible.get(b)!.length || (draw.get(a)! < draw.get(b)! ? -1 : 1));
  const received: Record<string, number> = Object.fromEntries(ids.map((id) => [id, 0]));
  const chosen = new Map<string, string[]>();
  for (const r of order) {
    // The least reviewed so far, and among them one drawn with the applicant's own seeded generator.
    const prng = createPrng(`${seed}:${r}`);
    const picks: string[] = [];
    for (let i = 0; i < policy.perApplicant; i++) {
      let least = Infinity;
      let pool: string[] = [];
      for (const t of eligible.get(r)!) {
        if (picks.includes(t)) continue;
        if (received[t] < least) [least, pool] = [received[t], [t]];
        else if (received[t] === least) pool.push(t);
      }
      if (pool.length === 0) break;
      const t = pool[prng.nextInt(pool.length)];
      picks.push(t);
      received[t] += 1;
    }
    chosen.set(r, picks);
  }
  const assignments: PeerReviewersAssigned['data']['assignments'] = ids.map((r) => {
    const listed: Partial<Record<PeerExclusionReason, string[]>> = {};
    for (const [t, reason] of conflicts.get(r)!) (listed[reason] ??= []).push(t);
    return { applicationId: r, reviews: chosen.get(r)!, ...(Object.keys(listed).length > 0 ? { conflicts: listed } : {}) };
  });
  const short = assignments.filter((a) => a.reviews.length < policy.perApplicant).map((a) => ({ applicationId: a.applicationId, have: a.reviews.length, need: policy.perApplicant }));
  return [{ type: 'PeerReviewersAssigned', data: { roundKey, perApplicant: policy.perApplicant, weight: policy.weight, assignments, received, short, seed, dueAt: round.dueAt, at: now } }];
}

/** The peer reviews an applicant still owes in the round: assigned applications (not withdrawn) it has not reviewed. */
export function peerReviewsOwed(s: RunningCycle, round: RoundRecord, applicationId: string): string[] {
  return peerAssignments(round, applicationId).filter((t) => s.applications[t]?.status !== 'withdrawn' && !hasSheetBy(round, t, peerScorer(applicationId)));
}

/**
 * The round is closing: each applicant still in it that owes peer reviews meets the policy's rule,
 * one event each in candidate order (applicants already met by it are left out, so that evolving
 * the first event and asking again gives the rest: libs/audit re-derives them one by one).
 */
export function missedPeerReviews(s: RunningCycle, round: RoundRecord, now: string): CycleEvent[] {
  const policy = peerPolicy(s, round);
  if (!policy || !round.peers) return [];
  const rule = policy.onMissedReviews;
  const out: CycleEvent[] = [];
  for (const id of round.candidates) {
    if (s.applications[id]?.status !== 'submitted' || round.peerMissed?.includes(id)) continue;
    const missing = peerReviewsOwed(s, round, id);
    if (missing.length === 0) continue;
    out.push({
      type: 'PeerReviewsMissed',
      data: {
        roundKey: round.roundKey,
        applicationId: id,
        assigned: peerAssignments(round, id),
        missing,
        rule: typeof rule === 'string' ? rule : 'penalty',
        penalty: typeof rule === 'string' ? null : rule.penalty,
        at: now,
      },
    });
  }
  return out;
}

/** The round's sheets with the policy's weight on applicants' peer reviews (unchanged without peer review). */
export function peerWeighted(s: RunningCycle, round: RoundRecord, sheets: ScoreSheet[]): ScoreSheet[] {
  const policy = peerPolicy(s, round);
  if (!policy || !round.peers) return sheets;
  const peers = new Set(round.candidates.map(peerScorer));
  return sheets.map((sheet) => (peers.has(sheet.scorerId) ? { ...sheet, weight: policy.weight } : sheet));
}

/** A candidate with the points its missed peer reviews cost it, if any. */
export function withPenalty(round: RoundRecord, candidate: Candidate): Candidate {
  const penalty = round.penalties?.[candidate.id];
  return penalty ? { ...candidate, penalty } : candidate;
}
