import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, loadEnvironment } from '@concentra/config';
import { connectionOptions } from './connection-options';

/** The mapping from the SDK's standard variables and TOML profiles to what Connection.connect gets. */
describe('connectionOptions (Temporal settings by the SDK conventions)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'concentra-envconfig-'));
  const file = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    return join(dir, name);
  };
  const cert = file('client.pem', 'client certificate');
  const key = file('client.key', 'client key');
  const ca = file('ca.pem', 'server CA');
  const toml = file(
    'temporal.toml',
    [
      '[profile.default]',
      'address = "127.0.0.1:7233"',
      '',
      '[profile.prod]',
      'address = "temporal.prod.internal:7233"',
      'namespace = "grants"',
      '[profile.prod.tls]',
      `server_ca_cert_path = "${ca}"`,
      'server_name = "temporal.prod.internal"',
      '',
    ].join('\n'),
  );
  const problemsOf = (source: NodeJS.ProcessEnv): string[] => {
    try {
      loadEnvironment(source);
    } catch (error) {
      if (error instanceof EnvironmentError) return error.problems;
      throw error;
    }
    throw new Error('the environment was accepted');
  };

  it('connects to the embedded local run, in plain text, when nothing is set', () => {
    const env = loadEnvironment({});
    expect([env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE]).toEqual(['127.0.0.1:7233', 'default']);
    expect(connectionOptions(env)).toEqual({ address: '127.0.0.1:7233', tls: undefined, apiKey: undefined, metadata: undefined });
  });

  it('reads mTLS with a server CA and server name from the standard variables', () => {
    const env = loadEnvironment({
      TEMPORAL_ADDRESS: 'temporal.example.org:7233',
      TEMPORAL_NAMESPACE: 'concentra-prod',
      TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
      TEMPORAL_TLS_SERVER_NAME: 'frontend.temporal',
      TEMPORAL_GRPC_META_X_TENANT: 'ministry',
    });
    expect(env.TEMPORAL_NAMESPACE).toBe('concentra-prod');
    const options = connectionOptions(env);
    expect(options).toMatchObject({ address: 'temporal.example.org:7233', apiKey: undefined, metadata: { 'x-tenant': 'ministry' } });
    const tls = options.tls as { clientCertPair: { crt: Uint8Array; key: Uint8Array }; serverRootCACertificate: Uint8Array; serverNameOverride: string };
    expect(Buffer.from(tls.clientCertPair.crt).toString()).toBe('client certificate');
    expect(Buffer.from(tls.clientCertPair.key).toString()).toBe('client key');
    expect(Buffer.from(tls.serverRootCACertificate).toString()).toBe('server CA');
    expect(tls.serverNameOverride).toBe('frontend.temporal');
  });

  it('turns TLS on for an API key, and off again with TEMPORAL_TLS=false', () => {
    expect(connectionOptions(loadEnvironment({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' }))).toMatchObject({ tls: true, apiKey: 'k' });
    expect(connectionOptions(loadEnvironment({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' })).tls).toBe(false);
  });

  it('takes a profile from a TOML file, the standard variables overriding it', () => {
    const env = loadEnvironment({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod' });
    expect([env.TEMPORAL_ADDRESS, env.TEMPORAL_NAMESPACE]).toEqual(['temporal.prod.internal:7233', 'grants']);
    const tls = connectionOptions(env).tls as { serverRootCACertificate: Uint8Array; serverNameOverride: string };
    expect(Buffer.from(tls.serverRootCACertificate).toString()).toBe('server CA');
    expect(tls.serverNameOverride).toBe('temporal.prod.internal');

    const overridden = loadEnvironment({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'prod', TEMPORAL_NAMESPACE: 'staging' });
    expect([overridden.TEMPORAL_ADDRESS, overridden.TEMPORAL_NAMESPACE]).toEqual(['temporal.prod.internal:7233', 'staging']);
  });

  it('refuses, naming the variable, what would connect otherwise than meant', () => {
    expect(problemsOf({ TEMPORAL_TLS_CERT_PATH: cert, TEMPORAL_TLS_KEY_PATH: key })).toEqual([
      'TEMPORAL_TLS_CERT_PATH: renamed to TEMPORAL_TLS_CLIENT_CERT_PATH (the Temporal SDK\'s name)',
      'TEMPORAL_TLS_KEY_PATH: renamed to TEMPORAL_TLS_CLIENT_KEY_PATH (the Temporal SDK\'s name)',
    ]);
    expect(problemsOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: cert })).toEqual(['TEMPORAL_TLS_CLIENT_KEY_PATH: the client certificate and key go together']);
    expect(problemsOf({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: join(dir, 'missing.pem') })).toEqual([
      `TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read ${join(dir, 'missing.pem')}`,
    ]);
    expect(problemsOf({ TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') })[0]).toMatch(/^TEMPORAL_CONFIG_FILE: .*ENOENT/);
    expect(problemsOf({ TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'nope' })).toEqual([
      "TEMPORAL_PROFILE: Profile 'nope' not found in config data",
    ]);
    const withOthers = problemsOf({ TEMPORAL_ADDRESS: 'no-port', API_PORT: 'eighty' });
    expect(withOthers).toHaveLength(2);
    expect(withOthers[0]).toMatch(/^API_PORT: /);
    expect(withOthers[1]).toBe('TEMPORAL_ADDRESS: must be host:port');
  });
});
