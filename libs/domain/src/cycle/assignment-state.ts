/**
 * Reviewer assignment (issue 15) as the state keeps it: a leaf of evolve, so it imports nothing of
 * the deciders. The rule itself is in assignment.ts.
 */
import type { CycleEvent } from './events';
import type { RoundRecord, RunningCycle } from './state';

/**
 * Who is assigned to an application (and who declined it). The state keeps their places in the
 * panel's list of reviewers, not their names: three numbers an application stay small at a thousand.
 */
export function assignedTo(s: RunningCycle, round: RoundRecord, applicationId: string, list: 'assigned' | 'declined' = 'assigned'): string[] {
  return (round[list]?.[applicationId] ?? []).map((i) => s.panel.reviewers[i]?.subject ?? '');
}

/** Panel reviewers whose organisation recently collaborated with one of these organisations (policy data). */
export function collaboratingReviewers(s: RunningCycle, consortium: readonly string[]): string[] {
  const pairs = s.policy.stages.flatMap((st) => (st.kind === 'review' ? (st.assignment?.recentCollaborations ?? []) : []));
  if (pairs.length === 0) return [];
  const partners = new Set(pairs.flatMap(({ organisations: [a, b] }) => (consortium.includes(a) ? [b] : consortium.includes(b) ? [a] : [])));
  return s.panel.reviewers.filter((r) => r.organisationId && partners.has(r.organisationId)).map((r) => r.subject);
}

/** The state after ReviewersAssigned / ReviewAssignmentDeclined (evolve). */
export function withAssignments(s: RunningCycle, round: RoundRecord, event: Extract<CycleEvent, { type: 'ReviewersAssigned' | 'ReviewAssignmentDeclined' }>): RoundRecord {
  const place = (subject: string) => s.panel.reviewers.findIndex((r) => r.subject === subject);
  if (event.type === 'ReviewersAssigned') {
    return { ...round, assigned: Object.fromEntries(event.data.assignments.map((a) => [a.applicationId, a.reviewers.map(place)])) };
  }
  const d = event.data;
  const kept = (round.assigned?.[d.applicationId] ?? []).filter((i) => i !== place(d.reviewer));
  return {
    ...round,
    assigned: { ...round.assigned, [d.applicationId]: d.replacement ? [...kept, place(d.replacement.reviewer)] : kept },
    declined: { ...round.declined, [d.applicationId]: [...(round.declined?.[d.applicationId] ?? []), place(d.reviewer)] },
  };
}
