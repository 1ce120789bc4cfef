import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { loadEnvironment } from '@concentra/config';
import { connectionOptions } from '../src/connection-options';

/**
 * A client and a worker connection configured only through the SDK's standard variables reach a
 * Temporal server whose certificate a private CA signed. The dev server speaks plain gRPC, so a
 * real TLS endpoint on loopback (this CA's certificate, HTTP/2 by ALPN) forwards to it.
 */
describe('Temporal over TLS with a server CA, from the standard variables', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concentra-tls-'));
  let server: Server;
  let address: string;
  let handshakes = 0;

  beforeAll(async () => {
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=concentra test CA');
    openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
    writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '1', '-extfile', 'server.ext', '-out', 'server.pem');

    const [host, port] = (process.env.TEST_TEMPORAL_ADDRESS ?? '').split(':');
    if (!port) throw new Error('TEST_TEMPORAL_ADDRESS is not set: run the tests through jest (test/global-setup.ts)');
    server = createServer(
      { key: readFileSync(join(dir, 'server.key')), cert: readFileSync(join(dir, 'server.pem')), ALPNProtocols: ['h2'] },
      (secure) => {
        handshakes++;
        const upstream = connect(Number(port), host);
        secure.pipe(upstream).pipe(secure);
        secure.on('error', () => upstream.destroy());
        upstream.on('error', () => secure.destroy());
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('connects the client and the worker connection, verifying the server against the CA', async () => {
    const env = loadEnvironment({
      TEMPORAL_ADDRESS: address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'ca.pem'),
      TEMPORAL_TLS_SERVER_NAME: 'localhost',
    });
    const client = await Connection.connect(connectionOptions(env));
    try {
      const info = await client.workflowService.getSystemInfo({});
      expect(info.capabilities).toBeTruthy();
    } finally {
      await client.close();
    }
    const worker = await NativeConnection.connect(connectionOptions(env));
    await worker.close();
    expect(handshakes).toBeGreaterThanOrEqual(2);
  });

  it('refuses the server when the CA is not given', async () => {
    const env = loadEnvironment({ TEMPORAL_ADDRESS: address, TEMPORAL_TLS: 'true', TEMPORAL_TLS_SERVER_NAME: 'localhost' });
    await expect(NativeConnection.connect(connectionOptions(env))).rejects.toThrow(/certificate|issuer/i);
  });
});
