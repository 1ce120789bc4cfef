/**
 * Reviewer assignment (issue 15, item 1; policy `review.assignment`). When a review round opens,
 * each application gets `reviewersPerApplication` reviewers from the named panel:
 *
 * - never a conflicted one: the lead's organisation, a consortium member's, a declared conflict, or
 *   an organisation that recently collaborated with one of the consortium (`recentCollaborations`);
 * - nobody above `maxPerReviewer`;
 * - a reviewer whose expertise meets the application's topics first (`expertise: prefer`), or only
 *   those (`require`); then the least loaded, so loads stay balanced; then a seeded order, so that
 *   no reviewer is favoured by the spelling of their name and the same seed assigns the same way.
 *
 * The most constrained applications (fewest eligible reviewers) are served first, so that a small
 * pool is not used up by applications that had many choices. Only assigned reviewers may score
 * (decide-scoring.ts); one who declines (or declares a conflict) is replaced by the same rule.
 */
import { sha256 } from '@noble/hashes/sha256';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import type { ReviewerAssignmentPolicy, ReviewStage } from '../policy/schema';
import { fail } from '../shared/errors';
import type { Actor, DeclineReviewAssignment, PanelMember } from './commands';
import type { AssignmentReason, CycleEvent, ExclusionReason } from './events';
import { requireApplication, requireRole, requireRunning, requireText } from './guards';
import { assignedTo } from './assignment-state';
import type { ApplicationRecord, CycleState, RoundRecord, RunningCycle } from './state';

export { assignedTo };

/** The review stage's assignment policy, if the round is a review round that has one. */
export function assignmentPolicy(s: RunningCycle, round: RoundRecord): ReviewerAssignmentPolicy | undefined {
  if (round.kind !== 'review') return undefined;
  return (s.policy.stages[round.stageIndex] as ReviewStage).assignment;
}

/** Why `reviewer` may not review `app` at all, or null. Load and expertise are weighed by the assignment itself. */
function conflictOf(s: RunningCycle, app: ApplicationRecord, applicationId: string, reviewer: PanelMember): ExclusionReason | null {
  if (reviewer.organisationId && reviewer.organisationId === app.lead) return 'same_organisation';
  if (app.conflicted?.includes(reviewer.subject)) return 'consortium_member';
  if (s.conflicts.some((c) => c.scorer === reviewer.subject && c.applicationId === applicationId)) return 'declared_conflict';
  if (app.collaborating?.includes(reviewer.subject)) return 'recent_collaboration';
  return null;
}

const matches = (app: ApplicationRecord, reviewer: PanelMember) => (reviewer.expertise ?? []).some((t) => app.topics?.includes(t));
const seeded = (seed: string, applicationId: string, reviewer: string) => bytesToHex(sha256(utf8ToBytes(`${seed}:${applicationId}:${reviewer}`)));

interface Choice {
  reviewer: string;
  reason: AssignmentReason;
}

/** The best free reviewer for an application by the policy's order, or null when none is left. */
function pick(s: RunningCycle, policy: ReviewerAssignmentPolicy, seed: string, applicationId: string, loads: Record<string, number>, taken: readonly string[]): Choice | null {
  const app = s.applications[applicationId];
  const free = s.panel.reviewers.filter(
    (r) => !taken.includes(r.subject) && (loads[r.subject] ?? 0) < policy.maxPerReviewer && conflictOf(s, app, applicationId, r) === null && (policy.expertise === 'prefer' || matches(app, r)),
  );
  const keyed = free.map((r) => ({ r, expert: matches(app, r) ? 0 : 1, load: loads[r.subject] ?? 0, draw: seeded(seed, applicationId, r.subject) }));
  const best = keyed.sort((a, b) => a.expert - b.expert || a.load - b.load || (a.draw < b.draw ? -1 : 1))[0]?.r;
  return best ? { reviewer: best.subject, reason: matches(app, best) ? 'expertise' : 'least_loaded' } : null;
}

/** Assigns every application of a review round that was just opened (its ReviewRoundOpened is in `s`). */
export function assignReviewers(s: RunningCycle, roundKey: string, now: string): CycleEvent[] {
  const round = s.rounds[roundKey];
  const policy = assignmentPolicy(s, round);
  if (!policy) return [];
  const seed = `${s.lotterySeed}:${roundKey}:assignment`;
  const eligible = new Map(round.candidates.map((id) => [id, s.panel.reviewers.filter((r) => conflictOf(s, s.applications[id], id, r) === null).length]));
  const order = [...round.candidates].sort((a, b) => eligible.get(a)! - eligible.get(b)! || (a < b ? -1 : 1));
  const loads: Record<string, number> = Object.fromEntries(s.panel.reviewers.map((r) => [r.subject, 0]));
  const chosen = new Map<string, Choice[]>();
  for (const id of order) {
    const picks: Choice[] = [];
    for (let i = 0; i < policy.reviewersPerApplication; i++) {
      const next = pick(s, policy, seed, id, loads, picks.map((p) => p.reviewer));
      if (!next) break;
      picks.push(next);
      loads[next.reviewer] += 1;
    }
    chosen.set(id, picks);
  }
  const assignments = round.candidates.map((id) => {
    const app = s.applications[id];
    // Conflicts only: reviewers passed over for their expertise or their load are not listed (the
    // policy says why, `loads` says who was full), so the event does not grow with the pool.
    const conflicts: Partial<Record<ExclusionReason, string[]>> = {};
    for (const r of s.panel.reviewers) {
      const reason = conflictOf(s, app, id, r);
      if (reason) (conflicts[reason] ??= []).push(r.subject);
    }
    const picks = chosen.get(id)!;
    return { applicationId: id, reviewers: picks.map((p) => p.reviewer), reasons: picks.map((p) => p.reason), ...(Object.keys(conflicts).length > 0 ? { conflicts } : {}) };
  });
  const short = assignments.filter((a) => a.reviewers.length < policy.reviewersPerApplication).map((a) => ({ applicationId: a.applicationId, have: a.reviewers.length, need: policy.reviewersPerApplication }));
  const events: CycleEvent[] = [{ type: 'ReviewersAssigned', data: { roundKey, perApplication: policy.reviewersPerApplication, maxPerReviewer: policy.maxPerReviewer, assignments, loads, short, at: now } }];
  if (short.length > 0) {
    events.push({
      type: 'EscalationRaised',
      data: { reason: 'reviewers_short', subject: roundKey, details: `${short.length} application(s) have fewer than ${policy.reviewersPerApplication} unconflicted reviewers with room`, raisedAt: now, heldDeadline: null },
    });
  }
  return events;
}

/** Loads in a round as assigned now. */
function loadsOf(s: RunningCycle, round: RoundRecord): Record<string, number> {
  const loads: Record<string, number> = {};
  for (const ids of Object.values(round.assigned ?? {})) for (const i of ids) loads[s.panel.reviewers[i].subject] = (loads[s.panel.reviewers[i].subject] ?? 0) + 1;
  return loads;
}

/** An assigned reviewer steps back from an application: the next free reviewer by the same rule takes it (if any). */
export function replaceReviewer(s: RunningCycle, round: RoundRecord, applicationId: string, reviewer: string, reason: string, now: string): CycleEvent[] {
  const policy = assignmentPolicy(s, round)!;
  const taken = [...assignedTo(s, round, applicationId), ...assignedTo(s, round, applicationId, 'declined'), reviewer];
  const replacement = pick(s, policy, `${s.lotterySeed}:${round.roundKey}:assignment`, applicationId, loadsOf(s, round), taken);
  const events: CycleEvent[] = [{ type: 'ReviewAssignmentDeclined', data: { roundKey: round.roundKey, applicationId, reviewer, reason, replacement, at: now } }];
  if (!replacement) {
    events.push({
      type: 'EscalationRaised',
      data: { reason: 'reviewers_short', subject: round.roundKey, details: `no free reviewer replaces ${reviewer} on "${applicationId}"`, raisedAt: now, heldDeadline: null },
    });
  }
  return events;
}

/** The open review round with assignment in which `reviewer` is assigned to the application and has not yet reviewed it, if any. */
export function assignedOpenRound(s: RunningCycle, applicationId: string, reviewer: string): RoundRecord | null {
  const round = s.currentRound ? s.rounds[s.currentRound] : undefined;
  if (!round || round.closed || !round.assigned || !assignedTo(s, round, applicationId).includes(reviewer)) return null;
  return (round.sheets[applicationId] ?? []).some((row) => row[0] === reviewer) ? null : round;
}

/** With assignment on, only the application's assigned reviewers may score it. */
export function requireAssigned(s: RunningCycle, round: RoundRecord, applicationId: string, actor: Actor): void {
  if (round.assigned && !assignedTo(s, round, applicationId).includes(actor.subject)) {
    fail('forbidden', 'reviewers are assigned in this round, and this reviewer is not assigned to this application', 'applicationId');
  }
}

export function declineReviewAssignment(state: CycleState, cmd: DeclineReviewAssignment, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'reviewer');
  const s = requireRunning(state);
  const app = requireApplication(s, cmd.data.applicationId);
  const reason = requireText(cmd.data.reason, 'reason');
  const round = assignedOpenRound(s, app.applicationId, cmd.actor.subject);
  if (!round) fail('invalid_state', 'this reviewer holds no open assignment for this application (not assigned, already reviewed, or the round is closed)', 'applicationId');
  return replaceReviewer(s, round, app.applicationId, cmd.actor.subject, reason, now);
}
