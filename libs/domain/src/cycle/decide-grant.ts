/** Facts reported by the grant child workflows, and the procurement records that close the cycle. */
import type { ProcurementStage } from '../policy/schema';
import { DomainError, fail } from '../shared/errors';
import { isBefore, isIsoInstant } from '../shared/time';
import type { RecordGrantEnded, RecordGrantStarted, RecordProcurementContract, RecordReleaseDeclaration } from './commands';
import type { CycleEvent } from './events';
import { chain, requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireStage, requireText } from './guards';
import { closeCycle } from './pipeline';
import type { CycleState, GrantRecord, RunningCycle } from './state';

const SHA256_HEX = /^[0-9a-f]{64}$/;

function requireGrant(state: CycleState, applicationId: unknown, grantId: unknown): { s: RunningCycle; grant: GrantRecord } {
  // Grant facts are accepted even after cancellation or closing: GPUs must be accounted for.
  if (state.stage === 'not_started') fail('invalid_state', 'the cycle has not been opened', 'stage');
  const grant = typeof applicationId === 'string' ? state.grants[applicationId] : undefined;
  if (!grant) throw new DomainError('not_found', `no grant for "${String(applicationId)}"`, 'applicationId');
  if (grantId !== grant.grantId) fail('validation_failed', `the grant of this team is "${grant.grantId}"`, 'grantId');
  return { s: state, grant };
}

export function recordGrantStarted(state: CycleState, cmd: RecordGrantStarted, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const { grant } = requireGrant(state, cmd.data?.applicationId, cmd.data?.grantId);
  if (grant.status !== 'pending') fail('duplicate', `the grant is already ${grant.status}`, 'grantId');
  const allocationId = typeof cmd.data.allocationId === 'string' ? cmd.data.allocationId : null;
  return [{ type: 'GrantStarted', data: { applicationId: grant.applicationId, grantId: grant.grantId, allocationId, startedAt: now } }];
}

export function recordGrantEnded(state: CycleState, cmd: RecordGrantEnded, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const { grant } = requireGrant(state, cmd.data?.applicationId, cmd.data?.grantId);
  if (grant.status === 'ended') fail('duplicate', 'the grant has already ended', 'grantId');
  const reason = requireText(cmd.data.reason, 'reason');
  const hours = cmd.data.gpuHoursUsed;
  if (hours !== undefined && (typeof hours !== 'number' || !(hours >= 0))) fail('validation_failed', 'must be a non-negative number', 'gpuHoursUsed');
  return [{ type: 'GrantEnded', data: { applicationId: grant.applicationId, grantId: grant.grantId, reason, gpuHoursUsed: hours ?? null, endedAt: now } }];
}

function requireFinalist(s: RunningCycle, applicationId: unknown): string {
  requireStage(s, 'procurement');
  const app = requireApplication(s, applicationId);
  if (!s.procurement!.finalists.includes(app.applicationId) || app.status !== 'active') fail('invalid_state', 'this team is not a finalist', 'applicationId');
  return app.applicationId;
}

/** Closes the cycle as soon as every finalist has a contract and a verified release. */
function closeIfComplete(s: RunningCycle, events: CycleEvent[], now: string): CycleEvent[] {
  return chain(s, events, (next) => {
    const p = next.procurement!;
    const finalists = p.finalists.filter((id) => next.applications[id]?.status === 'active');
    const complete = finalists.every((id) => p.releases[id] && Object.values(p.contracts).some((c) => c.applicationId === id));
    return complete ? [closeCycle(next, now)] : [];
  });
}

export function recordProcurementContract(state: CycleState, cmd: RecordProcurementContract, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const d = cmd.data;
  const applicationId = requireFinalist(s, d?.applicationId);
  const contractId = requireText(d.contractId, 'contractId');
  if (s.procurement!.contracts[contractId]) fail('duplicate', `contract "${contractId}" is already recorded`, 'contractId');
  const agency = requireText(d.agency, 'agency');
  const model = requireText(d.model, 'model');
  const budgetLine = requireText(d.budgetLine, 'budgetLine');
  if (!d.term || !isIsoInstant(d.term.start) || !isIsoInstant(d.term.end)) fail('validation_failed', 'start and end must be ISO date-times', 'term');
  if (!isBefore(d.term.start, d.term.end)) fail('validation_failed', 'the term must end after it starts', 'term.end');
  if (!d.amount || typeof d.amount.value !== 'number' || !(d.amount.value > 0)) fail('validation_failed', 'must be a positive amount', 'amount.value');
  if (typeof d.amount.currency !== 'string' || !/^[A-Z]{3}$/.test(d.amount.currency)) fail('validation_failed', 'must be an ISO 4217 code such as "EUR"', 'amount.currency');
  return closeIfComplete(
    s,
    [
      {
        type: 'ProcurementAwarded',
        data: { contractId, applicationId, agency, model, term: { start: d.term.start, end: d.term.end }, amount: { value: d.amount.value, currency: d.amount.currency }, budgetLine, recordedBy: cmd.actor.subject, at: now },
      },
    ],
    now,
  );
}

export function recordReleaseDeclaration(state: CycleState, cmd: RecordReleaseDeclaration, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant', 'program_manager');
  const s = requireRunning(state);
  const d = cmd.data;
  const applicationId = requireFinalist(s, d?.applicationId);
  requireLeadOrganisation(cmd.actor, s.applications[applicationId]);
  if (s.procurement!.releases[applicationId]) fail('duplicate', 'the release of this model is already declared', 'applicationId');
  const repository = requireText(d.repository, 'repository');
  const stage = s.policy.stages[s.stageIndex] as ProcurementStage;
  if (!stage.allowedLicences.includes(d.licence)) fail('validation_failed', `must be one of ${stage.allowedLicences.join(', ')}`, 'licence');
  if (!Array.isArray(d.artifacts) || d.artifacts.length === 0) fail('validation_failed', 'at least one artifact with its checksum', 'artifacts');
  d.artifacts.forEach((a, i) => {
    requireText(a?.name, `artifacts.${i}.name`);
    if (typeof a.sha256 !== 'string' || !SHA256_HEX.test(a.sha256)) fail('validation_failed', 'must be a lower-case hex SHA-256', `artifacts.${i}.sha256`);
  });
  const artifacts = d.artifacts.map((a) => ({ name: a.name, sha256: a.sha256 }));
  return closeIfComplete(s, [{ type: 'ModelReleased', data: { applicationId, repository, licence: d.licence, artifacts, declaredBy: cmd.actor.subject, at: now } }], now);
}
