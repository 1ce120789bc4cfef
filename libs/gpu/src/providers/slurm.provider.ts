import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { effectiveGpus, type GpuProvider, type ProviderAccount, type ProviderAccountSpec, type ProviderUsage } from './gpu-provider';

export interface SlurmProviderOptions {
  /** Path of slurm.conf for the clients (sacctmgr, sacct, squeue, scancel); default: the system's. */
  slurmConf?: string;
  /** Directory holding the Slurm client binaries; default: the PATH. */
  binDir?: string;
  /** Seconds one client call may take. */
  timeoutSeconds?: number;
}

export class SlurmCommandError extends Error {
  constructor(
    readonly command: string,
    readonly code: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${command} failed (exit ${code}): ${(stderr || stdout).trim().split('\n').slice(-5).join(' | ')}`);
    this.name = 'SlurmCommandError';
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Slurm accounting as a GPU provider: a grant is a Slurm account whose association limits GPUs
 * (`GrpTRES=gres/gpu=N`) and GPU-minutes (`GrpTRESMins=gres/gpu=M`); throttling moves it to a QOS
 * and lowers the limit; suspension sets both limits to zero and cancels its jobs. Every step looks
 * before it writes (`sacctmgr show` before `add`), so a retry after a crash converges on one account.
 */
export class SlurmProvider implements GpuProvider {
  readonly name = 'slurm';

  constructor(private readonly options: SlurmProviderOptions = {}) {}

  accountName(allocationId: string): string {
    // Slurm account names: lower-case [a-z0-9_], short, stable. The grant id is kept in the description.
    return `cg_${createHash('sha256').update(allocationId).digest('hex').slice(0, 16)}`;
  }

  async accountExists(ref: ProviderAccount): Promise<boolean> {
    return (await this.associations(ref)).some((a) => a.user === '');
  }

  async ensureAccount(spec: ProviderAccountSpec): Promise<{ created: boolean }> {
    let created = false;
    if (!(await this.accountExists(spec))) {
      const add = await this.sacctmgr([
        'add', 'account', spec.account,
        `cluster=${spec.cluster}`,
        `description=${spec.grantId}`,
        `organization=${spec.organisationId}`,
        ...(await this.limitArgs(spec)),
      ]);
      if (add.code === 0) created = true;
      // "Nothing new added": a concurrent or earlier attempt created it; verified below.
      else if (!/Nothing new added/i.test(add.stdout + add.stderr)) throw this.failure('sacctmgr add account', add);
      if (!(await this.accountExists(spec))) throw this.failure('sacctmgr add account (not visible afterwards)', add);
    }
    await this.changeLimits(spec);
    const users = new Set((await this.associations(spec)).map((a) => a.user).filter((u) => u !== ''));
    for (const user of spec.users) {
      if (users.has(user)) continue;
      const add = await this.sacctmgr(['add', 'user', user, `account=${spec.account}`, `cluster=${spec.cluster}`]);
      if (add.code !== 0 && !/Nothing new added/i.test(add.stdout + add.stderr)) throw this.failure('sacctmgr add user', add);
    }
    return { created };
  }

  async changeLimits(spec: ProviderAccountSpec): Promise<void> {
    const modify = await this.sacctmgr([
      'modify', 'account', 'where', `name=${spec.account}`, `cluster=${spec.cluster}`, 'set', ...(await this.limitArgs(spec)),
    ]);
    if (modify.code !== 0 && !/Nothing modified/i.test(modify.stdout + modify.stderr)) throw this.failure('sacctmgr modify account', modify);
    if (spec.mode === 'suspended') await this.cancelJobs(spec);
  }

  async removeAccount(ref: ProviderAccount): Promise<{ removed: boolean }> {
    const associations = await this.associations(ref);
    const known = associations.length > 0 || (await this.accountRecordExists(ref.account));
    if (!known) {
      await this.removeQos(this.throttleQos(ref.account)); // a crash may have left it behind
      return { removed: false };
    }
    await this.cancelJobs(ref);
    for (let attempt = 1; ; attempt += 1) {
      const del = await this.sacctmgr(['delete', 'account', `name=${ref.account}`]);
      const text = del.stdout + del.stderr;
      if (del.code === 0 || /Nothing deleted/i.test(text)) {
        // An association left behind still limits (and counts) GPUs: say so rather than call it released.
        const left = await this.associations(ref);
        if (left.length > 0) throw this.failure(`sacctmgr delete account (associations ${left.map((a) => a.user || '(account)').join(', ')} remain)`, del);
        await this.removeQos(this.throttleQos(ref.account));
        return { removed: del.code === 0 || associations.length > 0 };
      }
      // Slurm refuses while jobs are still ending; they were cancelled above.
      if (/Job\(s\) active/i.test(text) && attempt < 20) {
        await this.waitForNoJobs(ref);
        continue;
      }
      throw this.failure('sacctmgr delete account', del);
    }
  }

  async usage(ref: ProviderAccount, since: Date, until: Date): Promise<ProviderUsage> {
    // A window that has not started yet has used nothing (sacct refuses a start after the end).
    if (since.getTime() >= until.getTime()) return { gpuMinutes: 0, jobs: 0 };
    const run = await this.exec('sacct', [
      '-n', '-P', '-X', '-a',
      `--clusters=${ref.cluster}`,
      `--accounts=${ref.account}`,
      `--starttime=${slurmTime(since)}`,
      `--endtime=${slurmTime(until)}`,
      '--format=JobID,AllocTRES,ElapsedRaw,State',
    ]);
    if (run.code !== 0) throw this.failure('sacct', run);
    let gpuSeconds = 0;
    let jobs = 0;
    for (const line of run.stdout.split('\n')) {
      if (!line.trim()) continue;
      const [, tres = '', elapsed = '0'] = line.split('|');
      const gpus = Number(/(?:^|,)gres\/gpu=(\d+)/.exec(tres)?.[1] ?? 0);
      if (gpus > 0) {
        gpuSeconds += gpus * Number(elapsed || 0);
        jobs += 1;
      }
    }
    return { gpuMinutes: gpuSeconds / 60, jobs };
  }

  /** `sacctmgr show assoc` rows for the account on its cluster (user '' is the account's own). */
  async associations(ref: ProviderAccount): Promise<SlurmAssociation[]> {
    const run = await this.sacctmgr([
      '-n', '-P', 'show', 'assoc', 'where', `account=${ref.account}`, `cluster=${ref.cluster}`,
      'format=cluster,account,user,grptres,grptresmins,grpjobs,qos,defaultqos',
    ]);
    if (run.code !== 0) throw this.failure('sacctmgr show assoc', run);
    return run.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((line) => {
        const [cluster, account, user, grpTres, grpTresMins, grpJobs, qos, defaultQos] = line.split('|');
        return { cluster, account, user, grpTres, grpTresMins, grpJobs, qos, defaultQos };
      });
  }

  private async accountRecordExists(account: string): Promise<boolean> {
    const run = await this.sacctmgr(['-n', '-P', 'show', 'account', account, 'format=account']);
    if (run.code !== 0) throw this.failure('sacctmgr show account', run);
    return run.stdout.split('\n').some((l) => l.trim() === account);
  }

  /** The QOS that throttles one account: its own, so its GrpTRES caps that account alone. */
  throttleQos(account: string): string {
    return `${account}_throttle`;
  }

  private async limitArgs(spec: ProviderAccountSpec): Promise<string[]> {
    const suspended = spec.mode === 'suspended';
    const minutes = suspended ? 0 : spec.gpuMinutes === null ? -1 : Math.max(0, Math.floor(spec.gpuMinutes));
    let qos = 'normal';
    if (spec.mode === 'throttled') {
      qos = this.throttleQos(spec.account);
      await this.ensureQos(qos, effectiveGpus(spec));
    }
    return [
      // The association keeps the granted limit; a throttle lowers it through the QOS.
      `GrpTRES=gres/gpu=${suspended ? 0 : spec.gpus}`,
      `GrpTRESMins=gres/gpu=${minutes}`,
      `GrpJobs=${suspended ? 0 : -1}`,
      `QOS=${qos}`,
      `DefaultQOS=${qos}`,
    ];
  }

  private async ensureQos(name: string, gpus: number): Promise<void> {
    const show = await this.sacctmgr(['-n', '-P', 'show', 'qos', name, 'format=name']);
    if (show.code !== 0) throw this.failure('sacctmgr show qos', show);
    if (!show.stdout.split('\n').some((l) => l.trim() === name)) {
      const add = await this.sacctmgr(['add', 'qos', name, `GrpTRES=gres/gpu=${gpus}`, 'Description=concentra grant throttle']);
      if (add.code === 0) return;
      if (!/Nothing new added/i.test(add.stdout + add.stderr)) throw this.failure('sacctmgr add qos', add);
    }
    const modify = await this.sacctmgr(['modify', 'qos', 'where', `name=${name}`, 'set', `GrpTRES=gres/gpu=${gpus}`]);
    if (modify.code !== 0 && !/Nothing modified/i.test(modify.stdout + modify.stderr)) throw this.failure('sacctmgr modify qos', modify);
  }

  private async removeQos(name: string): Promise<void> {
    const del = await this.sacctmgr(['delete', 'qos', name]);
    if (del.code !== 0 && !/Nothing deleted/i.test(del.stdout + del.stderr)) throw this.failure('sacctmgr delete qos', del);
  }

  private async cancelJobs(ref: ProviderAccount): Promise<void> {
    const cancel = await this.exec('scancel', [`--clusters=${ref.cluster}`, `--account=${ref.account}`]);
    if (cancel.code !== 0 && !/no (active )?jobs|Invalid job id/i.test(cancel.stderr)) throw this.failure('scancel', cancel);
    await this.waitForNoJobs(ref);
  }

  /** Polls squeue (bounded) until the account has no job left. */
  private async waitForNoJobs(ref: ProviderAccount, seconds = 60): Promise<void> {
    const until = Date.now() + seconds * 1000;
    for (;;) {
      const q = await this.exec('squeue', ['-h', `--clusters=${ref.cluster}`, `--account=${ref.account}`, '-o', '%i']);
      if (q.code !== 0) throw this.failure('squeue', q);
      const ids = q.stdout.split('\n').filter((l) => /^\d/.test(l.trim()));
      if (ids.length === 0) return;
      if (Date.now() > until) throw new Error(`jobs ${ids.join(', ')} of account ${ref.account} did not end within ${seconds}s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private sacctmgr(args: string[]): Promise<Run> {
    // -i: no confirmation prompt (commits immediately); show commands ignore it.
    if (args[0] === '-n') return this.exec('sacctmgr', args);
    // Writes go one at a time: slurmdbd, given two `add account` at once, has been seen to store an
    // association without its account record, which no later `delete account` removes (a leaked limit).
    const run = this.writes.then(() => this.exec('sacctmgr', ['-i', ...args]));
    this.writes = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private writes: Promise<void> = Promise.resolve();

  private exec(binary: string, args: string[]): Promise<Run> {
    const file = this.options.binDir ? `${this.options.binDir}/${binary}` : binary;
    const env = { ...process.env, ...(this.options.slurmConf ? { SLURM_CONF: this.options.slurmConf } : {}) };
    return new Promise((resolve) => {
      execFile(file, args, { env, timeout: (this.options.timeoutSeconds ?? 60) * 1000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
        const code = error ? (typeof (error as NodeJS.ErrnoException).code === 'number' ? ((error as unknown as { code: number }).code) : null) : 0;
        resolve({ code: error && code === 0 ? 1 : code, stdout: String(stdout), stderr: String(stderr) + (error && code === null ? `\n${error.message}` : '') });
      });
    });
  }

  private failure(command: string, run: Run): SlurmCommandError {
    return new SlurmCommandError(command, run.code, run.stdout, run.stderr);
  }
}

export interface SlurmAssociation {
  cluster: string;
  account: string;
  user: string;
  grpTres: string;
  grpTresMins: string;
  grpJobs: string;
  qos: string;
  defaultQos: string;
}

/** Slurm reads times without a zone in the local zone of the client. */
function slurmTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
