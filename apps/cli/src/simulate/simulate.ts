/**
 * `concentra simulate`: a policy's whole cycle in seconds, before it is published. One stack (test
 * server, throwaway database, worker) serves both policies when two are compared; each runs as its
 * own cycle with the same synthetic applicants and scores.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DomainError, parsePolicy, type ProgramPolicy } from '@concentra/domain';
import { simulateCycle } from './driver';
import { formatSummaries, summarise, type SimulationSummary } from './report';
import { startSimulationStack, type StackOptions } from './stack';

export interface SimulateOptions extends StackOptions {
  policies: ProgramPolicy[];
  applications: number;
  seed: string;
  gpus?: number;
}

export async function simulate(options: SimulateOptions): Promise<SimulationSummary[]> {
  const stack = await startSimulationStack(options);
  try {
    const summaries: SimulationSummary[] = [];
    for (const [i, policy] of options.policies.entries()) {
      const run = await simulateCycle(stack, { policy, slug: `sim-${String.fromCharCode(97 + i)}`, applications: options.applications, seed: options.seed, gpus: options.gpus }, options.log);
      summaries.push(summarise(run));
    }
    return summaries;
  } finally {
    await stack.close();
  }
}

/** Reads and validates a policy document; a bad one is refused with each field and reason. */
export function readPolicyFile(path: string): ProgramPolicy {
  let text: string;
  try {
    text = readFileSync(resolve(path), 'utf8');
  } catch (error) {
    throw new Error(`cannot read policy ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return parsePolicy(text);
  } catch (error) {
    if (error instanceof DomainError) {
      const issues = error.issues;
      throw new Error(`policy ${path} is not valid: ${error.message}${issues.map((i) => `\n  ${i.field || '(document)'}: ${i.reason}`).join('')}`, { cause: error });
    }
    throw error;
  }
}

const whole = (name: string, min: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} needs a whole number of at least ${min}, got ${value}`);
  return n;
};

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Run a whole cycle of a policy on the time-skipping test server with synthetic applicants and scores')
    .requiredOption('--policy <file>', 'the policy document (JSON)')
    .option('--compare <file>', 'a second policy, run with the same applicants and printed side by side')
    .option('--applications <n>', 'how many synthetic applications', whole('--applications', 1), 20)
    .option('--seed <seed>', 'seeds applicants, scores and missed deadlines: the same seed gives the same outcome', '1')
    .option('--gpus <n>', 'GPUs in the pool per type the policy asks for (default: enough for every awardee)', whole('--gpus', 0))
    .option('--verbose', 'log each step')
    .action(async (options: { policy: string; compare?: string; applications: number; seed: string; gpus?: number; verbose?: boolean }) => {
      const policies = [readPolicyFile(options.policy), ...(options.compare ? [readPolicyFile(options.compare)] : [])];
      const started = Date.now();
      const summaries = await simulate({
        policies,
        applications: options.applications,
        seed: options.seed,
        gpus: options.gpus,
        log: options.verbose ? (line) => console.error(`[simulate] ${line}`) : undefined,
      });
      console.log(formatSummaries(summaries));
      console.log(`simulated ${summaries.length === 1 ? 'one cycle' : `${summaries.length} cycles`} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
}
