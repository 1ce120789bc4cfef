/**
 * What the API and the worker share about the workflows: task queue, workflow ids, message
 * definitions and the shapes they carry. Importing this file never pulls in workflow code.
 */
import { defineQuery } from '@temporalio/workflow';

export const TASK_QUEUE = 'program-cycles';

export function cycleWorkflowId(programSlug: string, year: number): string {
  return `cycle:${programSlug}:${year}`;
}

export function grantWorkflowId(programSlug: string, year: number, teamSlug: string): string {
  return `grant:${programSlug}:${year}:${teamSlug}`;
}

/** Search attributes the cycle upserts so operators can find cycles by program, year and stage. */
export const SEARCH_ATTRIBUTES = {
  program: 'ConcentraProgram',
  year: 'ConcentraYear',
  stage: 'ConcentraStage',
} as const;

export interface Actor {
  role: string;
  subject: string;
  organisationId?: string;
}

export interface CycleInput {
  programSlug: string;
  year: number;
  /** The policy document the cycle runs on for its whole life, and its hash. */
  policy: Record<string, unknown>;
  policyHash: string;
  startedBy: Actor;
}

export interface CycleStatus {
  cycleId: string;
  stage: string;
  /** The next deadline the workflow is waiting on, if any. */
  nextDeadline: { kind: string; at: string } | null;
  eventsRecorded: number;
}

export const cycleStatusQuery = defineQuery<CycleStatus>('cycleStatus');
