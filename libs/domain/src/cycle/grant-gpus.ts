/**
 * How many GPUs a team's grant gets, by the policy's rules: the stage's default (`gpusPerAwardee`,
 * a refill's `gpusPerEntrant`, an evaluation round's `gpusPerTeam`, `gpusPerFinalist`), the
 * applicant's request capped by the policy, and the program manager's amount for the team, which
 * wins over every rule for the rest of the cycle. Pure; the amounts decided are written into the
 * events (recorded facts win).
 */
import type { GpuAllocation, GrantStage, ProgramPolicy } from '../policy/schema';
import { canonicalJson } from '../shared/canonical';
import type { RunningCycle } from './state';

export function sameGpus(a: readonly GpuAllocation[] | null | undefined, b: readonly GpuAllocation[] | null | undefined): boolean {
  return canonicalJson(a ?? null) === canonicalJson(b ?? null);
}

/** `base` with its first alternative at `count` GPUs and the others scaled alike (rounded up). */
export function scaleGpus(base: readonly GpuAllocation[], count: number): GpuAllocation[] {
  const factor = count / base[0].count;
  return base.map((g, i) => ({ type: g.type, count: i === 0 ? count : Math.max(1, Math.ceil(g.count * factor)) }));
}

function grantStageOf(policy: ProgramPolicy): GrantStage | undefined {
  return policy.stages.find((st): st is GrantStage => st.kind === 'grant');
}

/**
 * The amount a team gets when its grant is created from `base` (the stage's default): the program
 * manager's amount if one was set, else what the funding pools awarded, else the applicant's request
 * capped by the policy, else `base`.
 */
export function amountFor(s: RunningCycle, applicationId: string, base: GpuAllocation[]): GpuAllocation[] {
  const app = s.applications[applicationId];
  if (app?.gpusOverride) return app.gpusOverride;
  if (app?.gpusAwarded) return app.gpusAwarded; // the selection's funding pools (funding-pools.ts)
  const cap = grantStageOf(s.policy)?.applicantRequests?.cap;
  if (app?.gpusRequested && cap) return scaleGpus(base, Math.min(app.gpusRequested, cap));
  return base;
}

/** Teams whose amount differs from the default, for a `gpusByTeam` field (absent when nobody differs). */
export function gpusByTeam(s: RunningCycle, teams: string[], base: GpuAllocation[]): { gpusByTeam?: Record<string, GpuAllocation[]> } {
  const out: Record<string, GpuAllocation[]> = {};
  for (const id of teams) {
    const gpus = amountFor(s, id, base);
    if (!sameGpus(gpus, base)) out[id] = gpus;
  }
  return Object.keys(out).length > 0 ? { gpusByTeam: out } : {};
}

/**
 * The GPU limit of a running grant for an amount, in the type it is served in: the amount's entry of
 * that type, else its first alternative converted at the rate it was served at (rounded up).
 */
export function gpuLimitFor(gpus: readonly GpuAllocation[], served: { type: string; rate?: number }): number {
  const same = gpus.find((g) => g.type.toUpperCase() === served.type.toUpperCase());
  if (same) return same.count;
  const rate = served.rate && served.rate > 0 ? served.rate : 1;
  return Math.max(1, Math.ceil(gpus[0].count / rate));
}

/** The policy's `onRefusal`: how long a refused grant keeps asking (an ISO duration), or null to give up at once. */
export function refusalRetryFor(policy: ProgramPolicy): string | null {
  const rule = grantStageOf(policy)?.onRefusal;
  return rule && rule.startsWith('retry_until ') ? rule.slice('retry_until '.length) : null;
}

/** The policy's `acceptPartialAtLeast` as a GPU count of the amount's first alternative, or null. */
export function partialAtLeast(policy: ProgramPolicy, gpus: readonly GpuAllocation[]): number | null {
  const fraction = grantStageOf(policy)?.acceptPartialAtLeast;
  return fraction ? Math.max(1, Math.ceil(gpus[0].count * fraction)) : null;
}

/**
 * GPUs another grant gave back join a running grant only when they are of the capacity (site and
 * type) it is served from: a grant runs on one capacity, and the rest stay in the pool.
 */
export function joinsGrant(served: { capacityId: string }, share: { capacityId: string; count: number }): boolean {
  return share.capacityId === served.capacityId && share.count > 0;
}
