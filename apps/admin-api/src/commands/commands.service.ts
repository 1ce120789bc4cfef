import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { DomainError, requireScorerOrganisation, type Actor, type ScoringPanel } from '@concentra/domain';
import { CycleDetailsReads } from '@concentra/persistence';
import { CYCLE_BUSY, commandUpdates, type CommandResult, type PersonCommand, type PersonCommandType } from '@concentra/workflows/contracts';
import type { Principal } from '@concentra/auth';
import type { ApproveMembershipChangeBody, SubmitApplicationBody, SubmitEvaluationScoresBody, SubmitReviewBody } from './commands.schemas';

export type CommandData<K extends PersonCommandType> = Extract<PersonCommand, { type: K }>['data'];

/** What every accepted command answers: the command, the facts it caused, where the cycle stands. */
export interface CommandAnswer extends CommandResult {
  command: PersonCommandType;
  /** The id the command created, when the API chose it (application, review, score set). */
  id?: string;
}

const CYCLE_ID = /^cycle:[a-z0-9]+(?:-[a-z0-9]+)*:\d{4}$/;
/** Tries while a cycle is between runs (about 3 s in all) before a 503. */
const BUSY_ATTEMPTS = 8;

/** The actor of a command is who the verified token says, never what a body claims. */
export function actorOf(principal: Principal): Actor {
  return { role: principal.role as Actor['role'], subject: principal.sub, ...(principal.org ? { organisationId: principal.org } : {}) };
}

/** An application slug from its title: "Open Weights for All!" → "open-weights-for-all". */
export function slugFromTitle(title: string): string {
  const slug = title
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return slug || 'application';
}

/**
 * Sends a person's command to a running cycle as the Temporal Update named after it. The
 * workflow's validator runs the domain's `decide`: a refused command never enters the history and
 * comes back as an ApplicationFailure of type DomainError, which the problem filter maps to a 4xx.
 */
@Injectable()
export class CycleCommandsService {
  constructor(
    @Inject(Client) private readonly temporal: Client,
    @Inject(CycleDetailsReads) private readonly reads: CycleDetailsReads,
  ) {}

  async send<K extends PersonCommandType>(cycleId: string, type: K, data: CommandData<K>, principal: Principal, id?: string): Promise<CommandAnswer> {
    if (!CYCLE_ID.test(cycleId)) throw new DomainError('not_found', `no cycle '${cycleId}' (cycle ids look like cycle:<program>:<year>)`, 'id');
    const command = { type, actor: actorOf(principal), data } as PersonCommand;
    const update = commandUpdates[type] as unknown as UpdateDefinition<CommandResult, [PersonCommand]>;
    try {
      const result = await this.sendUpdate(cycleId, update, command);
      return { command: type, ...(id ? { id } : {}), ...result };
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) throw await this.whyNotRunning(cycleId);
      // Next year's cycle, waiting for its opening date, refuses commands itself with a DomainError
      // (invalid_state) that reaches the problem filter like any other refusal.
      // Temporal unreachable or too slow (WorkflowUpdateRPCTimeoutOrCancelledError, ServiceError): a 503, mapped by the problem filter.
      throw error;
    }
  }

  /**
   * A cycle finishing one run to continue in the next turns new commands away for a moment
   * (CYCLE_BUSY, nothing applied): send it again a few times before answering 503 with Retry-After.
   */
  private async sendUpdate(cycleId: string, update: UpdateDefinition<CommandResult, [PersonCommand]>, command: PersonCommand): Promise<CommandResult> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.temporal.workflow.getHandle(cycleId).executeUpdate(update, { args: [command] });
      } catch (error) {
        const busy = error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure && error.cause.type === CYCLE_BUSY;
        if (!busy || attempt >= BUSY_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
      }
    }
  }

  async submitApplication(cycleId: string, body: SubmitApplicationBody, principal: Principal): Promise<CommandAnswer> {
    const applicationId = body.applicationId ?? slugFromTitle(body.title);
    const shared = await this.sharing(cycleId, [body.lead.organisationId, ...body.members.map((m) => m.organisationId)], applicationId);
    return this.send(cycleId, 'SubmitApplication', { ...body, applicationId, ...shared }, principal, applicationId);
  }

  /** A consortium's new members, with the applications it now shares an organisation with (peer review's conflicts). */
  async changeMembership(cycleId: string, applicationId: string, body: ApproveMembershipChangeBody, principal: Principal): Promise<CommandAnswer> {
    const lead = (await this.reads.consortium(cycleId, applicationId))?.[0];
    const shared = lead ? await this.sharing(cycleId, [lead, ...body.members.map((m) => m.organisationId)], applicationId) : {};
    return this.send(cycleId, 'ApproveMembershipChange', { applicationId, ...body, ...shared }, principal);
  }

  async submitReview(cycleId: string, body: SubmitReviewBody, principal: Principal): Promise<CommandAnswer> {
    await this.requireOrganisation(cycleId, principal, ['reviewers']);
    const reviewId = body.reviewId ?? `review-${randomUUID()}`;
    return this.send(cycleId, 'SubmitReview', { ...body, reviewId, ...(await this.consortium(cycleId, body.applicationId)) }, principal, reviewId);
  }

  async submitEvaluationScores(cycleId: string, body: SubmitEvaluationScoresBody, principal: Principal): Promise<CommandAnswer> {
    await this.requireOrganisation(cycleId, principal, ['evaluators', 'reviewers']);
    const scoreSetId = body.scoreSetId ?? `scores-${randomUUID()}`;
    return this.send(cycleId, 'SubmitEvaluationScores', { ...body, scoreSetId, ...(await this.consortium(cycleId, body.applicationId)) }, principal, scoreSetId);
  }

  /** A scorer needs an organisation (token or panel record) for conflict-of-interest detection: else 403 with the reason. */
  private async requireOrganisation(cycleId: string, principal: Principal, groups: Array<keyof ScoringPanel>): Promise<void> {
    if (principal.org || !CYCLE_ID.test(cycleId)) return; // an unknown cycle id is answered by send(), 404
    requireScorerOrganisation(actorOf(principal), await this.reads.panel(cycleId), groups);
  }

  /**
   * The application's lead and consortium organisation ids, from the applications projection (kept
   * in the transaction that appends the events, so never older than the workflow's state): the
   * domain's conflict-of-interest rule needs them for a scorer not on a named panel, and the cycle
   * state keeps no member lists. Set here, after the body is validated: the actor never supplies it
   * (the body schemas refuse unknown fields). An unknown application gets none; the domain says not_found.
   */
  private async consortium(cycleId: string, applicationId: string): Promise<{ consortium?: string[] }> {
    const consortium = await this.reads.consortium(cycleId, applicationId);
    return consortium ? { consortium } : {};
  }

  /**
   * The cycle's applications that share an organisation with these (issue 15, peer review's
   * conflicts), from the applications projection: set here, never by the actor (the body schemas
   * refuse unknown fields); the domain records them only when the policy has peer review. Two
   * applications sent at the same instant may each miss the other; either one finding the other is enough.
   */
  private async sharing(cycleId: string, organisationIds: string[], applicationId: string): Promise<{ sharesOrganisationWith?: string[] }> {
    if (!CYCLE_ID.test(cycleId)) return {};
    const ids = await this.reads.sharingOrganisation(cycleId, organisationIds, applicationId);
    return ids.length > 0 ? { sharesOrganisationWith: ids } : {};
  }

  /** An Update to a workflow that is gone: a cycle that never existed (404) or one that has ended (409). */
  private async whyNotRunning(cycleId: string): Promise<DomainError> {
    try {
      const description = await this.temporal.workflow.getHandle(cycleId).describe();
      return new DomainError('invalid_state', `the cycle '${cycleId}' has ended (${description.status.name.toLowerCase()}) and takes no more commands`, 'id');
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return new DomainError('not_found', `no cycle '${cycleId}'`, 'id');
      throw error;
    }
  }
}
