/**
 * Periods a policy may write in any duration (issue 15, item 6). The objection window was first a
 * whole number of days (`objections.windowDays`); `objections.window` takes days or an ISO-8601
 * duration. A policy in days resolves exactly as before (`P{n}D` is n × 24 h in UTC, as addDays was).
 */
import type { ProgramPolicy } from '../policy/schema';
import { resolveDue } from '../shared/time';

/** The objection window as the policy gives it: `window` (days or a duration), else `windowDays`. */
export function objectionWindow(policy: ProgramPolicy): number | string {
  return policy.objections.window ?? policy.objections.windowDays!;
}

/** When an objection window opened at `from` ends. */
export function objectionWindowEndsAt(policy: ProgramPolicy, from: string): string {
  return resolveDue(objectionWindow(policy), from);
}
