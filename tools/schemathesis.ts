/**
 * Schemathesis (the API fuzzer, from the Python package index) in a virtual environment of the
 * project's own: `.cache/venv`, created and filled on first use with the pinned version. Tests call
 * `ensureSchemathesis()`; `node dist/tools/schemathesis.js` does it ahead of time.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '@concentra/config';

export const SCHEMATHESIS_VERSION = '4.32.5';

const run = promisify(execFile);

/** The venv's `schemathesis` executable, installing it (pip, pinned) when it is missing or another version. */
export async function ensureSchemathesis(root = projectRoot()): Promise<string> {
  const venv = process.env.CONCENTRA_VENV_DIR ?? join(root, '.cache', 'venv');
  const bin = join(venv, 'bin', 'schemathesis');
  if (existsSync(bin) && (await installedVersion(venv)) === SCHEMATHESIS_VERSION) return bin;
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(join(venv, 'bin', 'python'))) await run(python, ['-m', 'venv', venv], { timeout: 300_000 });
  const index = process.env.PYPI_URL ? ['--index-url', `${process.env.PYPI_URL.replace(/\/$/, '')}/simple`] : [];
  await run(join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--quiet', ...index, `schemathesis==${SCHEMATHESIS_VERSION}`], { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 });
  return bin;
}

async function installedVersion(venv: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(join(venv, 'bin', 'python'), ['-c', 'import importlib.metadata as m; print(m.version("schemathesis"))']);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  ensureSchemathesis().then(
    (bin) => console.log(`schemathesis ${SCHEMATHESIS_VERSION}: ${bin}`),
    (error: Error) => {
      console.error(error.stack ?? error.message);
      process.exit(1);
    },
  );
}
