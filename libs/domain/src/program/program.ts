/**
 * A program: the decider behind `POST /v1/programs`. Creating one fixes its policy (the document
 * given, or the default one) and records `ProgramCreated` on the stream `program:<slug>`. Pure,
 * like the cycle's decider: the API reads the stream, folds it with `evolveProgram`, asks
 * `decideProgram`, and appends what it answers.
 */
import { defaultPolicyDocument } from '../policy/defaults';
import { parsePolicy, policyHash } from '../policy/parse';
import type { ProgramPolicy } from '../policy/schema';
import { DomainError } from '../shared/errors';

/** Who may create a program is the route's rule (`@Allow`); the decider decides what is created. */
export interface CreateProgram {
  type: 'CreateProgram';
  data: { slug: string; name: string; /** The policy document; absent, the default policy. */ policy?: Record<string, unknown> };
}
export type ProgramCommand = CreateProgram;

export interface ProgramCreated {
  type: 'ProgramCreated';
  data: { slug: string; name: string; policy: ProgramPolicy; policyHash: string };
}
export type ProgramEvent = ProgramCreated;

export type ProgramState = { exists: false } | { exists: true; slug: string; name: string; policyHash: string };
export const noProgram: ProgramState = { exists: false };

export function programStreamId(slug: string): string {
  return `program:${slug}`;
}

export function decideProgram(command: ProgramCommand, state: ProgramState): ProgramEvent[] {
  const { slug, name, policy: document } = command.data;
  // A policy belongs to one program: its `program` field is the program's slug (or left out, and then set to it).
  if (document?.program !== undefined && document.program !== slug) {
    throw new DomainError('validation_failed', `must be the program's slug "${slug}" (or left out)`, 'policy.program');
  }
  const policy = parsePolicy({ ...(document ?? defaultPolicyDocument), program: slug });
  if (state.exists) throw new DomainError('conflict', `a program '${slug}' already exists`, 'slug');
  return [{ type: 'ProgramCreated', data: { slug, name, policy, policyHash: policyHash(policy) } }];
}

export function evolveProgram(state: ProgramState, event: ProgramEvent): ProgramState {
  switch (event.type) {
    case 'ProgramCreated':
      return { exists: true, slug: event.data.slug, name: event.data.name, policyHash: event.data.policyHash };
    default:
      return state;
  }
}
