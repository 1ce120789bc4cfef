/**
 * A change of a running grant that the GPU ledger refused for good (a non-retryable refusal: bad
 * input, no live allocation, a reused idempotency key). The grant does not fail over it: it goes on
 * with its allocation as it was, and the cycle records the refusal and escalates it to the program
 * managers, who decide what to do (another amount, a release, an operator's fix).
 */
import { DomainError, fail } from '../shared/errors';
import type { RecordLedgerRefusal } from './commands';
import type { CycleEvent } from './events';
import { requireRole, requireText } from './guards';
import type { CycleState } from './state';

export function recordLedgerRefusal(state: CycleState, cmd: RecordLedgerRefusal, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  // Grant facts are accepted even after cancellation or closing: what happened to GPUs is recorded.
  if (state.stage === 'not_started') fail('invalid_state', 'the cycle has not been opened', 'stage');
  const d = cmd.data;
  const grant = typeof d?.applicationId === 'string' ? state.grants[d.applicationId] : undefined;
  if (!grant) throw new DomainError('not_found', `no grant for "${String(d?.applicationId)}"`, 'applicationId');
  if (d.grantId !== grant.grantId) fail('validation_failed', `the grant of this team is "${grant.grantId}"`, 'grantId');
  if (grant.status === 'ended') fail('invalid_state', 'the grant has ended', 'grantId');
  const change = requireText(d.change, 'change');
  const code = requireText(d.code, 'code');
  const message = requireText(d.message, 'message');
  return [
    { type: 'GrantChangeRefused', data: { applicationId: grant.applicationId, grantId: grant.grantId, change, code, message, at: now } },
    {
      type: 'EscalationRaised',
      data: {
        reason: 'ledger_refusal',
        subject: grant.grantId,
        details: `the GPU ledger refused the ${change} of ${grant.grantId} for good (${code}: ${message}); the grant goes on with its allocation as it was`,
        raisedAt: now,
        heldDeadline: null,
      },
    },
  ];
}
