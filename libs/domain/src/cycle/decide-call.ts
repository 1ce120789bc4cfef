/** Opening the call, applications (main call and refill calls), withdrawals, membership, cancellation. */
import type { CallStage } from '../policy/schema';
import { parsePolicy, policyHash } from '../policy/parse';
import { DomainError, fail } from '../shared/errors';
import { addDuration, isBefore, normalizeInstant, resolveDue } from '../shared/time';
import type { ApproveMembershipChange, CancelCycle, OpenCall, SubmitApplication, WithdrawApplication } from './commands';
import { checkEligibility, validateOrganisation } from './eligibility';
import type { CycleEvent } from './events';
import { chain, requireApplication, requireLeadOrganisation, requireRole, requireRunning, requireSlug, requireText } from './guards';
import { enterStage } from './pipeline';
import { grantStage } from './stage-basis';
import { hasPeerReview } from './peer-review-state';
import { RULES_VERSION } from '../scoring/rank';
import { REGION_PATTERN } from '../policy/funding-pools';
import { applicationIds, cycleWorkflowId, type ApplicationRecord, type CycleState, type RunningCycle } from './state';
import { outstandingReports } from './grant-sanction-lift';

export function openCall(state: CycleState, cmd: OpenCall, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager', 'system');
  if (state.stage !== 'not_started') fail('duplicate', 'the call of this cycle is already open', 'stage');
  const d = cmd.data;
  const programSlug = requireSlug(d.programSlug, 'programSlug');
  if (!Number.isInteger(d.year) || d.year < 2000 || d.year > 9999) fail('validation_failed', 'must be a four-digit year', 'year');
  const policy = parsePolicy(d.policy);
  const hash = policyHash(policy);
  if (d.policyHash !== undefined && d.policyHash !== hash) fail('validation_failed', `does not match the policy (computed ${hash})`, 'policyHash');
  if (policy.program !== programSlug) fail('validation_failed', `the policy is for program "${policy.program}"`, 'programSlug');
  const panel = d.panel ?? { reviewers: [], evaluators: [] };
  for (const [group, people] of Object.entries(panel)) {
    if (!Array.isArray(people)) fail('validation_failed', 'must be a list', `panel.${group}`);
    people.forEach((p, i) => requireText(p?.subject, `panel.${group}.${i}.subject`));
  }
  const call = policy.stages[0] as CallStage;
  const openedAt = normalizeInstant(now);
  const closesAt = resolveDue(call.closing.deadline, openedAt);
  const firstCutoff = call.closing.cutoffEvery ? addDuration(openedAt, call.closing.cutoffEvery) : null;
  const cycleId = cycleWorkflowId(programSlug, d.year);
  return [
    {
      type: 'CallOpened',
      data: {
        cycleId,
        program: programSlug,
        year: d.year,
        policy,
        policyHash: hash,
        rulesVersion: RULES_VERSION,
        lotterySeed: d.lotterySeed ? requireText(d.lotterySeed, 'lotterySeed') : cycleId,
        panel: { reviewers: panel.reviewers, evaluators: panel.evaluators },
        openedAt,
        openedBy: cmd.actor.subject,
        closesAt,
        nextCutoffAt: firstCutoff && isBefore(firstCutoff, closesAt) ? firstCutoff : null,
      },
    },
  ];
}

export function submitApplication(state: CycleState, cmd: SubmitApplication, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const inRefill = s.stage === 'refill' && s.refill?.phase === 'open';
  // Lateness is the state's: the call closes when its deadline is applied (admit() checks the clock, live).
  if (!inRefill && (s.stage !== 'call' || s.callClosedAt !== null)) fail('deadline_passed', 'the call for applications is closed', 'stage');
  const d = cmd.data;
  const applicationId = requireSlug(d.applicationId, 'applicationId');
  const title = requireText(d.title, 'title');
  const lead = validateOrganisation(d.lead, 'lead');
  if (!Array.isArray(d.members)) fail('validation_failed', 'must be a list (possibly empty)', 'members');
  const members = d.members.map((m, i) => validateOrganisation(m, `members.${i}`));
  if (cmd.actor.organisationId !== lead.organisationId) fail('forbidden', 'applicants may only apply for their own organisation as lead', 'actor.organisationId');
  if (Object.hasOwn(s.applications, applicationId)) fail('duplicate', `application "${applicationId}" already exists`, 'applicationId');

  const requested = d.gpusRequested;
  if (requested !== undefined) {
    if (!grantStage(s).applicantRequests) fail('validation_failed', 'this program does not take GPU requests (policy: applicantRequests)', 'gpusRequested');
    if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1) fail('validation_failed', 'must be a whole number of GPUs, at least 1', 'gpusRequested');
  }

  const topics = d.topics === undefined ? undefined : requireTopics(d.topics);
  if (d.region !== undefined && (typeof d.region !== 'string' || !REGION_PATTERN.test(d.region))) fail('validation_failed', 'must be a region id of lower-case letters, digits, "-" or "_"', 'region');
  const call = s.policy.stages[0] as CallStage;
  checkEligibility(call.eligibility, lead, members);
  const byLead = Object.values(s.applications).filter((a) => a.lead === lead.organisationId);
  if (inRefill) checkRefillEntry(s, byLead);
  else if (call.eligibility.oneApplicationPerLeadOrganisation && byLead.some((a) => a.status !== 'withdrawn')) {
    fail('duplicate', `organisation "${lead.organisationId}" already leads an application in this call`, 'lead.organisationId');
  }

  const submitted: CycleEvent = {
    type: 'ApplicationSubmitted',
    data: {
      applicationId,
      title,
      summary: typeof d.summary === 'string' ? d.summary : null,
      lead,
      members,
      submittedAt: normalizeInstant(now),
      submittedBy: cmd.actor.subject,
      refillKey: inRefill ? s.refill!.refillKey : null,
      ...(requested !== undefined ? { gpusRequested: requested } : {}),
      ...(topics ? { topics } : {}),
      ...(d.region !== undefined ? { region: d.region } : {}),
      ...sharedWith(s, d.sharesOrganisationWith, applicationId),
    },
  };
  const limit = call.closing.afterApplications;
  // A withdrawn application no longer competes: it neither fills the call nor closes it.
  const count = Object.values(s.applications).filter((a) => !a.refillKey && a.status !== 'withdrawn').length + 1;
  if (inRefill || limit === undefined || count < limit) return [submitted];
  return chain(s, [submitted], (next) =>
    chain(next, [{ type: 'CallClosed', data: { reason: 'application_limit', applications: liveApplications(next), closedAt: now } }], (after) => enterStage(after, 1, now)),
  );
}

/**
 * Peer review (issue 15): the applications the API found sharing an organisation with this one,
 * recorded only when the policy has peer review; ids this cycle does not know are left out.
 */
function sharedWith(s: RunningCycle, ids: unknown, applicationId: string): { sharesOrganisationWith?: string[] } {
  if (ids === undefined || !hasPeerReview(s)) return {};
  if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) fail('validation_failed', 'must be a list of application ids', 'sharesOrganisationWith');
  const known = [...new Set(ids as string[])].filter((id) => id !== applicationId && Object.hasOwn(s.applications, id));
  return known.length > 0 ? { sharesOrganisationWith: known } : {};
}

/** Topic tags (reviewer assignment, issue 15): a short list of short words. */
function requireTopics(topics: unknown): string[] {
  if (!Array.isArray(topics) || topics.length > 20 || topics.some((t) => typeof t !== 'string' || !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(t))) {
    fail('validation_failed', 'must be at most 20 topic tags of lower-case letters, digits, "-" or "_"', 'topics');
  }
  return [...new Set(topics as string[])];
}

/** A refill call is open to newcomers and, by policy, to eliminated teams; never to teams still in. */
function checkRefillEntry(s: RunningCycle, byLead: ApplicationRecord[]): void {
  const refill = s.refill!;
  if (byLead.some((a) => a.status === 'active')) fail('duplicate', 'this organisation already leads a team in the program', 'lead.organisationId');
  if (byLead.some((a) => a.refillKey === refill.refillKey && a.status !== 'withdrawn')) {
    fail('duplicate', 'this organisation already applied to this refill call', 'lead.organisationId');
  }
  const eliminated = byLead.some((a) => a.status === 'eliminated');
  if (eliminated && !refill.openTo.eliminatedTeams) throw new DomainError('not_eligible', 'this refill call is not open to eliminated teams', 'lead.organisationId');
  if (!eliminated && !refill.openTo.newcomers) throw new DomainError('not_eligible', 'this refill call is open to eliminated teams only', 'lead.organisationId');
}

export function withdrawApplication(state: CycleState, cmd: WithdrawApplication, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'applicant');
  const s = requireRunning(state);
  const app = requireApplication(s, cmd.data.applicationId);
  requireLeadOrganisation(cmd.actor, app);
  if (app.status === 'withdrawn') fail('duplicate', 'the application is already withdrawn', 'applicationId');
  if (app.status !== 'submitted' && app.status !== 'active') fail('invalid_state', `the application is ${app.status.replace(/_/g, ' ')}`, 'applicationId');
  if (s.stage === 'procurement') fail('invalid_state', 'finalists cannot withdraw during procurement', 'stage');
  return [
    { type: 'ApplicationWithdrawn', data: { applicationId: app.applicationId, reason: typeof cmd.data.reason === 'string' ? cmd.data.reason : null, withdrawnAt: now, by: cmd.actor.subject } },
  ];
}

export function approveMembershipChange(state: CycleState, cmd: ApproveMembershipChange, now: string): CycleEvent[] {
  requireRole(cmd.actor, 'program_manager');
  const s = requireRunning(state);
  const app = requireApplication(s, cmd.data.applicationId);
  if (app.status !== 'submitted' && app.status !== 'active') fail('invalid_state', `the application is ${app.status.replace(/_/g, ' ')}`, 'applicationId');
  const rationale = requireText(cmd.data.rationale, 'rationale');
  if (!Array.isArray(cmd.data.members)) fail('validation_failed', 'must be a list', 'members');
  const members = cmd.data.members.map((m, i) => validateOrganisation(m, `members.${i}`));
  checkEligibility((s.policy.stages[0] as CallStage).eligibility, { organisationId: app.lead, type: app.leadType }, members);
  const shared = sharedWith(s, cmd.data.sharesOrganisationWith, app.applicationId);
  return [{ type: 'MembershipChanged', data: { applicationId: app.applicationId, members, approvedBy: cmd.actor.subject, rationale, at: now, ...shared } }];
}

export function cancelCycle(state: CycleState, cmd: CancelCycle, now: string): CycleEvent[] {
  // 'system': the workflow recording that an operator cancelled it from outside the API.
  requireRole(cmd.actor, 'program_manager', 'system');
  const s = requireRunning(state);
  const reason = requireText(cmd.data.reason, 'reason');
  // Every team the cycle still holds (applied and waiting, or funded) is told, not only the managers.
  const affected = applicationIds(s, (a) => a.status === 'submitted' || a.status === 'active');
  // Issue 15: the grants' reports still outstanding are recorded first, as at a close.
  return [...outstandingReports(s, now, 'cancelled'), { type: 'CycleCancelled', data: { reason, by: cmd.actor.subject, at: now, stage: s.stage, affected } }];
}

/** The applications still in the call (not withdrawn), in the order they came. */
export function liveApplications(s: RunningCycle): string[] {
  return applicationIds(s, (a) => a.status !== 'withdrawn');
}
