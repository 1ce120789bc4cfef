/**
 * Verified open-source release (issue 15, item 8; policy `procurement.releaseVerification`). The
 * release declaration's artifacts must include the model that was evaluated: the SHA-256 of the
 * team's last model submission (ModelSubmitted). The licence is checked against `allowedLicences`
 * on every declaration. A mismatch is recorded with the declaration, escalated to the program
 * manager, leaves the release outstanding (the team may declare again), and with
 * `onMismatch: block_procurement` refuses the team's public-use contract until a matching release
 * is declared.
 */
import type { ProcurementStage } from '../policy/schema';
import { fail } from '../shared/errors';
import type { Artifact } from './commands';
import type { CycleEvent } from './events';
import type { RunningCycle } from './state';

export type ReleaseVerification = { evaluatedSha256: string | null; matched: boolean };

function procurementStage(s: RunningCycle): ProcurementStage | undefined {
  return s.policy.stages.find((st): st is ProcurementStage => st.kind === 'procurement');
}

/** Whether the policy verifies releases (so that evolve keeps each team's evaluated model). */
export function verifiesReleases(s: RunningCycle): boolean {
  return !!procurementStage(s)?.releaseVerification;
}

/** The declaration checked against the evaluated model, and the escalation a mismatch raises; nothing when the policy does not verify. */
export function verifyRelease(s: RunningCycle, applicationId: string, artifacts: Artifact[], now: string): { verification?: ReleaseVerification; escalation: CycleEvent[] } {
  if (!verifiesReleases(s)) return { escalation: [] };
  const evaluated = s.applications[applicationId]?.evaluatedModel ?? null;
  const matched = evaluated !== null && artifacts.some((a) => a.sha256 === evaluated);
  const verification = { evaluatedSha256: evaluated, matched };
  if (matched) return { verification, escalation: [] };
  const blocking = procurementStage(s)!.releaseVerification!.onMismatch === 'block_procurement';
  const details = evaluated
    ? `the release of "${applicationId}" declares no artifact with the evaluated model's SHA-256 ${evaluated}${blocking ? '; its contract waits for a release that does' : ''}`
    : `"${applicationId}" has no evaluated model submission to verify its release against`;
  return { verification, escalation: [{ type: 'EscalationRaised', data: { reason: 'release_mismatch', subject: applicationId, details, raisedAt: now, heldDeadline: null } }] };
}

/** With `block_procurement`, a team whose release was declared and did not match waits for one that does. */
export function requireVerifiedRelease(s: RunningCycle, applicationId: string): void {
  if (procurementStage(s)?.releaseVerification?.onMismatch !== 'block_procurement') return;
  if (s.procurement?.mismatched?.includes(applicationId)) {
    fail('invalid_state', "the declared open-source release does not match the evaluated model: the contract waits for a release that does (policy releaseVerification)", 'applicationId');
  }
}
