import { execFile } from 'node:child_process';
import { join } from 'node:path';

/**
 * The real Slurm cluster for tests (Debian's slurmctld, slurmdbd with accounting in the local
 * MariaDB, slurmd with GPU gres without devices, munge), started by tools/slurm/slurm.sh. Starting
 * is idempotent and quick when it already runs, so each test file calls `startSlurm()` in its
 * beforeAll. When Slurm cannot start, this throws with the script's output: the tests FAIL, never skip.
 * The cluster is left running for the next file; `tools/slurm/slurm.sh stop` stops it.
 */
export interface SlurmCluster {
  /** SLURM_CONF and the other variables `slurm.sh env` prints. */
  env: Record<string, string>;
  slurmConf: string;
  cluster: string;
  /** Runs a Slurm client (sacctmgr, sacct, srun, sbatch, squeue, ...) against this cluster. */
  run(binary: string, args: string[], options?: { timeoutSeconds?: number }): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

const SCRIPT = join(__dirname, '..', '..', 'tools', 'slurm', 'slurm.sh');
let started: Promise<SlurmCluster> | undefined;

export function startSlurm(): Promise<SlurmCluster> {
  started ??= start();
  return started;
}

async function start(): Promise<SlurmCluster> {
  // The first start may install the Debian packages: allow it time.
  const up = await exec(SCRIPT, ['start'], process.env, 20 * 60);
  if (up.code !== 0) {
    throw new Error(`tools/slurm/slurm.sh start failed (exit ${up.code}); Slurm tests cannot run:\n${up.stdout}\n${up.stderr}`);
  }
  const printed = await exec(SCRIPT, ['env'], process.env, 60);
  if (printed.code !== 0) throw new Error(`tools/slurm/slurm.sh env failed (exit ${printed.code}):\n${printed.stdout}\n${printed.stderr}`);
  const env: Record<string, string> = {};
  for (const line of printed.stdout.split('\n')) {
    const m = /^export ([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = unquote(m[2]);
  }
  if (!env.SLURM_CONF) throw new Error(`tools/slurm/slurm.sh env printed no SLURM_CONF:\n${printed.stdout}`);
  const cluster = env.CONCENTRA_SLURM_CLUSTER ?? 'concentra';
  return {
    env,
    slurmConf: env.SLURM_CONF,
    cluster,
    run: (binary, args, options) => exec(binary, args, { ...process.env, ...env }, options?.timeoutSeconds ?? 120),
  };
}

function exec(file: string, args: string[], env: NodeJS.ProcessEnv, timeoutSeconds: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutSeconds * 1000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : null) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) + (error && code === null ? `\n${error.message}` : '') });
    });
  });
}

/** Undoes bash's `printf %q` for the simple paths slurm.sh prints. */
function unquote(value: string): string {
  if (value.startsWith("'") && value.endsWith("'")) return value.slice(1, -1);
  return value.replace(/\\(.)/g, '$1');
}
