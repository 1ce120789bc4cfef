/** Small checks shared by the command handlers; each throws the DomainError the API will map. */
import { DomainError, fail } from '../shared/errors';
import type { Actor, Role } from './commands';
import type { CycleEvent } from './events';
import { evolveAll } from './evolve';
import type { ApplicationRef, CycleState, CycleStage, RunningCycle } from './state';

export function requireRole(actor: Actor, ...roles: Role[]): void {
  if (!actor || typeof actor.subject !== 'string' || actor.subject.length === 0) fail('validation_failed', 'an actor with a subject is required', 'actor');
  if (!roles.includes(actor.role)) fail('forbidden', `only ${roles.join(' or ')} may do this (actor is ${actor.role})`, 'actor.role');
}

export function requireRunning(state: CycleState): RunningCycle {
  if (state.stage === 'not_started') fail('invalid_state', 'the cycle has not been opened', 'stage');
  if (state.stage === 'closed' || state.stage === 'cancelled') fail('invalid_state', `the cycle is ${state.stage}`, 'stage');
  return state;
}

export function requireStage(state: RunningCycle, ...stages: CycleStage[]): void {
  if (!stages.includes(state.stage)) fail('invalid_state', `not accepted in stage "${state.stage}" (only in ${stages.join(', ')})`, 'stage');
}

export function requireText(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim().length === 0) fail('validation_failed', 'must be a non-empty text', field);
  return value;
}

export function requireSlug(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(value)) {
    fail('validation_failed', 'must be a slug: lower-case letters, digits and "-", at most 63 characters', field);
  }
  return value;
}

export function requireApplication(state: RunningCycle, applicationId: unknown): ApplicationRef {
  const app = typeof applicationId === 'string' && Object.hasOwn(state.applications, applicationId) ? state.applications[applicationId] : undefined;
  if (!app) throw new DomainError('not_found', `no application "${String(applicationId)}" in this cycle`, 'applicationId');
  return { ...app, applicationId: applicationId as string };
}

/** An applicant acts only for the application their organisation leads. */
export function requireLeadOrganisation(actor: Actor, app: ApplicationRef): void {
  if (actor.role === 'program_manager') return;
  if (!actor.organisationId || actor.organisationId !== app.lead) {
    fail('forbidden', `only the lead organisation of "${app.applicationId}" may do this`, 'actor.organisationId');
  }
}

/** Applies events to get the state a follow-up step decides on: a decision may complete a stage. */
export function chain(state: RunningCycle, events: CycleEvent[], next: (s: RunningCycle) => CycleEvent[]): CycleEvent[] {
  const after = evolveAll(events, state) as RunningCycle;
  return [...events, ...next(after)];
}

export function distinct(values: string[]): boolean {
  return new Set(values).size === values.length;
}
