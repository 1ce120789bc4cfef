/**
 * Starts the Temporal CLI dev server (persisted to a SQLite file, with its Web UI) with the
 * search attributes the workflows use, and waits until it answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { resolveTemporalBinary } from './temporal-binaries';

export interface DevServerOptions {
  /** SQLite file; omitted, the server keeps everything in memory. */
  dbFile?: string;
  port: number;
  uiPort?: number;
  logFile: string;
  log?: (line: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export const SEARCH_ATTRIBUTE_FLAGS = [
  '--search-attribute', 'ConcentraProgram=Keyword',
  '--search-attribute', 'ConcentraYear=Int',
  '--search-attribute', 'ConcentraStage=Keyword',
];

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const binary = await resolveTemporalBinary('cli', options.log);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(options.port), '--log-level', 'warn', ...SEARCH_ATTRIBUTE_FLAGS];
  if (options.dbFile) {
    mkdirSync(join(options.dbFile, '..'), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  else args.push('--headless');
  mkdirSync(join(options.logFile, '..'), { recursive: true });
  const out = openSync(options.logFile, 'a');
  const child = spawn(binary, args, { stdio: ['ignore', out, out] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await Promise.race([waitForPort(options.port, 60_000), exited.then(() => false)]);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`the Temporal dev server did not start on port ${options.port}; see ${options.logFile}`);
  }
  return {
    address: `127.0.0.1:${options.port}`,
    uiUrl: options.uiPort ? `http://127.0.0.1:${options.uiPort}` : undefined,
    process: child,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls until something accepts connections on the port, or the bound runs out. */
export async function waitForPort(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await portOpen(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Asks the OS for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
