import { accessSync, constants } from 'node:fs';
import { loadClientConfigProfile, type ClientConfigProfile, type ConfigDataSource } from '@temporalio/envconfig';

/**
 * Where the Temporal server is and how to reach it, read the way every Temporal SDK and the
 * `temporal` CLI read it (`@temporalio/envconfig`): a profile of a TOML file (`TEMPORAL_CONFIG_FILE`,
 * else the user's `temporalio/temporal.toml`; `TEMPORAL_PROFILE`, else `default`), overlaid by the
 * standard variables `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS`,
 * `TEMPORAL_TLS_CLIENT_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_CLIENT_KEY_PATH`/`_DATA`,
 * `TEMPORAL_TLS_SERVER_CA_CERT_PATH`/`_DATA`, `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_*`.
 * So an operator's existing Temporal configuration works unchanged; where neither says, the
 * embedded local run's address and namespace apply.
 */
export interface TemporalConnection {
  /** The profile as the SDK resolved it (TLS files are read when connecting). */
  profile: ClientConfigProfile;
  address: string;
  namespace: string;
}

export const TEMPORAL_DEFAULTS = { address: '127.0.0.1:7233', namespace: 'default' } as const;

/** Variables of earlier releases, refused rather than ignored: ignoring them would silently turn mTLS off. */
const RENAMED: Record<string, string> = {
  TEMPORAL_TLS_CERT_PATH: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
  TEMPORAL_TLS_KEY_PATH: 'TEMPORAL_TLS_CLIENT_KEY_PATH',
};

const HOST_PORT = /^[\w.-]+:\d+$/;

/** Resolves the connection, or lists every problem (naming the variable) for the boot message. */
export function resolveTemporalConnection(
  source: NodeJS.ProcessEnv,
): { connection: TemporalConnection; problems: [] } | { connection?: undefined; problems: string[] } {
  const problems = Object.entries(RENAMED)
    .filter(([old]) => source[old])
    .map(([old, now]) => `${old}: renamed to ${now} (the Temporal SDK's name)`);
  const env = Object.fromEntries(Object.entries(source).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  let profile: ClientConfigProfile;
  try {
    if (env.TEMPORAL_CONFIG_FILE) accessSync(env.TEMPORAL_CONFIG_FILE, constants.R_OK);
    profile = loadClientConfigProfile({ overrideEnvVars: env });
  } catch (error) {
    const variable = /Profile '/.test((error as Error).message) ? 'TEMPORAL_PROFILE' : 'TEMPORAL_CONFIG_FILE';
    return { problems: [...problems, `${variable}: ${(error as Error).message}`] };
  }
  const address = profile.address ?? TEMPORAL_DEFAULTS.address;
  if (!HOST_PORT.test(address)) problems.push('TEMPORAL_ADDRESS: must be host:port');
  if (profile.namespace === '') problems.push('TEMPORAL_NAMESPACE: must not be empty');
  const tls = profile.tls;
  if (tls && !tls.disabled) {
    if (Boolean(tls.clientCert) !== Boolean(tls.clientKey)) {
      problems.push('TEMPORAL_TLS_CLIENT_KEY_PATH: the client certificate and key go together');
    }
    const files: [string, ConfigDataSource | undefined][] = [
      ['TEMPORAL_TLS_CLIENT_CERT_PATH', tls.clientCert],
      ['TEMPORAL_TLS_CLIENT_KEY_PATH', tls.clientKey],
      ['TEMPORAL_TLS_SERVER_CA_CERT_PATH', tls.serverCACert],
    ];
    for (const [variable, file] of files) {
      if (file && 'path' in file && !readable(file.path)) problems.push(`${variable}: cannot read ${file.path}`);
    }
  }
  if (problems.length) return { problems };
  return { connection: { profile, address, namespace: profile.namespace ?? TEMPORAL_DEFAULTS.namespace }, problems: [] };
}

function readable(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return true;
  } catch {
    return false;
  }
}
