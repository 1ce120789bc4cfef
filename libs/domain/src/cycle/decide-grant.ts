/** Facts reported by the grant child workflows, and the procurement records that close the cycle. */
import type { GpuAllocation, ProcurementStage } from '../policy/schema';
import { addDuration } from '../shared/time';
import { refusalRetryFor, sameGpus } from './grant-gpus';
import { DomainError, fail } from '../shared/errors';
import { isBefore, isIsoInstant } from '../shared/time';
import type { RecordGpusServed, RecordGpusWithheld, RecordGrantEnded, RecordGrantStarted, RecordProcurementContract, RecordReleaseDeclaration, SetGrantGpus } from './commands';
import type { CycleEvent } from './events';
import { chain, requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireStage, requireText } from './guards';
import { closeCycle } from './stage-basis';
import { requireVerifiedRelease, verifyRelease } from './release-verification';
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

const GPU_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

function requireGpus(value: unknown, field: string): GpuAllocation[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 8) fail('validation_failed', 'one to 8 GPU amounts, in order of preference', field);
  return value.map((g: { type?: unknown; count?: unknown }, i) => {
    if (typeof g?.type !== 'string' || !GPU_TYPE.test(g.type)) fail('validation_failed', 'must be a GPU type such as "H100"', `${field}.${i}.type`);
    if (typeof g.count !== 'number' || !Number.isInteger(g.count) || g.count < 1) fail('validation_failed', 'must be a whole number of GPUs, at least 1', `${field}.${i}.count`);
    return { type: g.type, count: g.count };
  });
}

/**
 * The program manager sets a team's GPUs, with a rationale: before its grant exists (it starts with
 * them), while it waits for capacity (it asks again with them) or while it runs (its limit changes).
 * The amount wins over the policy's later amounts (an evaluation round's, a finalist's).
 */
export function setGrantGpus(state: CycleState, cmd: SetGrantGpus, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const app = requireApplication(s, cmd.data?.applicationId);
  if (app.status !== 'submitted' && app.status !== 'active') fail('invalid_state', `the application is ${app.status.replace(/_/g, ' ')}`, 'applicationId');
  const gpus = requireGpus(cmd.data.gpus, 'gpus');
  const rationale = requireText(cmd.data.rationale, 'rationale');
  const grant = s.grants[app.applicationId];
  if (grant?.status === 'ended') fail('invalid_state', `the grant has ended (${grant.endReason ?? 'ended'})`, 'applicationId');
  const previous = grant?.gpus ?? app.gpusOverride ?? null;
  if (app.gpusOverride && sameGpus(app.gpusOverride, gpus) && (!grant || sameGpus(grant.gpus, gpus))) fail('duplicate', 'the team already has this amount', 'gpus');
  return [
    {
      type: 'GrantGpusChanged',
      data: { applicationId: app.applicationId, grantId: grant?.grantId ?? null, gpus, previous, cause: 'override', rationale, by: cmd.actor.subject, at: now },
    },
  ];
}

const LESSOR_RULES: Record<string, string> = {
  lessors_receive_none: 'organisations that lease GPUs to the pool receive no GPU support',
  exclude_while_in_use: "an organisation receives no GPUs while its own lease is in the pool's use",
};

/**
 * A grant's GPUs were refused or only partly served: recorded, escalated to the program manager
 * (with the rule and the capacity rows), and owed (by the pool while the grant retries, else by the
 * program manager) until the grant is served, gets a new amount, or ends.
 */
export function recordGpusWithheld(state: CycleState, cmd: RecordGpusWithheld, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const { s, grant } = requireGrant(state, cmd.data?.applicationId, cmd.data?.grantId);
  if (grant.status === 'ended') fail('invalid_state', 'the grant has ended', 'grantId');
  const d = cmd.data;
  if (d.kind !== 'refused' && d.kind !== 'partial') fail('validation_failed', 'must be "refused" or "partial"', 'kind');
  const reason = requireText(d.reason, 'reason');
  const message = requireText(d.message, 'message');
  const capacity = Array.isArray(d.capacity) ? d.capacity.slice(0, 32) : [];
  const retryFor = refusalRetryFor(s.policy);
  const retryUntil = retryFor ? addDuration(now, retryFor) : null;
  const lessor = d.rule ? LESSOR_RULES[d.rule] : undefined;
  const what = d.kind === 'partial' ? `served ${d.served ?? 0} of ${d.asked ?? '?'} GPUs` : 'refused GPUs';
  const next = retryUntil ? (d.retrying ? `the grant asks again when capacity frees, until ${retryUntil}` : `waiting for the program manager until ${retryUntil}`) : 'the grant gives up';
  const rows = capacity.map((c) => `${c.capacityId}: ${c.free} of ${c.count} ${c.gpuType} free (${c.why}${c.lessorOrganisationId ? `, leased by ${c.lessorOrganisationId}` : ''})`).join('; ');
  const details = [
    `${grant.grantId} ${what}: ${reason}${d.rule ? ` under rule ${d.rule}` : ''}.`,
    lessor ? `Capacity withheld by the pool's lessor rule ${d.rule} (${lessor}).` : '',
    message,
    rows ? `Capacity: ${rows}.` : '',
    `Policy version ${d.policyVersion ?? 'unknown'}; ${d.retryable ? 'may pass once capacity frees' : 'will not pass until the policy, the capacity or the amount changes'}; ${next}.`,
  ]
    .filter(Boolean)
    .join(' ');
  return [
    {
      type: 'GrantGpusWithheld',
      data: {
        applicationId: grant.applicationId,
        grantId: grant.grantId,
        kind: d.kind,
        reason,
        message,
        rule: d.rule ?? null,
        retryable: d.retryable === true,
        retrying: d.retrying === true && retryUntil !== null,
        policyVersion: d.policyVersion ?? null,
        capacity,
        served: d.served ?? null,
        asked: d.asked ?? null,
        retryUntil,
        at: now,
      },
    },
    { type: 'EscalationRaised', data: { reason: 'gpus_withheld', subject: grant.applicationId, details, raisedAt: now, heldDeadline: null } },
  ];
}

export function recordGpusServed(state: CycleState, cmd: RecordGpusServed, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'system');
  const { grant } = requireGrant(state, cmd.data?.applicationId, cmd.data?.grantId);
  if (grant.status === 'ended') fail('invalid_state', 'the grant has ended', 'grantId');
  if (!grant.withheld) fail('duplicate', 'nothing is withheld from this grant', 'grantId');
  const served = cmd.data.served;
  if (typeof served !== 'number' || !Number.isInteger(served) || served < 1) fail('validation_failed', 'must be a whole number of GPUs', 'served');
  return [{ type: 'GrantGpusServed', data: { applicationId: grant.applicationId, grantId: grant.grantId, served, at: now } }];
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
    const contracted = Object.values(p.contracts);
    const complete = finalists.every((id) => p.released.includes(id) && contracted.includes(id));
    return complete ? closeCycle(next, now) : [];
  });
}

export function recordProcurementContract(state: CycleState, cmd: RecordProcurementContract, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const d = cmd.data;
  const applicationId = requireFinalist(s, d?.applicationId);
  requireVerifiedRelease(s, applicationId); // issue 15: policy releaseVerification
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
  requireLeadOrganisation(cmd.actor, requireApplication(s, applicationId));
  if (s.procurement!.released.includes(applicationId)) fail('duplicate', 'the release of this model is already declared', 'applicationId');
  const repository = requireText(d.repository, 'repository');
  const stage = s.policy.stages[s.stageIndex] as ProcurementStage;
  if (!stage.allowedLicences.includes(d.licence)) fail('validation_failed', `must be one of ${stage.allowedLicences.join(', ')}`, 'licence');
  if (!Array.isArray(d.artifacts) || d.artifacts.length === 0) fail('validation_failed', 'at least one artifact with its checksum', 'artifacts');
  d.artifacts.forEach((a, i) => {
    requireText(a?.name, `artifacts.${i}.name`);
    if (typeof a.sha256 !== 'string' || !SHA256_HEX.test(a.sha256)) fail('validation_failed', 'must be a lower-case hex SHA-256', `artifacts.${i}.sha256`);
  });
  const artifacts = d.artifacts.map((a) => ({ name: a.name, sha256: a.sha256 }));
  const { verification, escalation } = verifyRelease(s, applicationId, artifacts, now); // issue 15
  return closeIfComplete(s, [{ type: 'ModelReleased', data: { applicationId, repository, licence: d.licence, artifacts, declaredBy: cmd.actor.subject, at: now, ...(verification ? { verification } : {}) } }, ...escalation], now);
}
