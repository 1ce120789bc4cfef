import { readFileSync } from 'node:fs';
import type { Environment } from '@concentra/config';

/** Address, TLS and API key for a client or worker connection, from the validated environment. */
export function connectionOptions(env: Environment) {
  const tls =
    env.TEMPORAL_TLS_CERT_PATH && env.TEMPORAL_TLS_KEY_PATH
      ? { clientCertPair: { crt: readFileSync(env.TEMPORAL_TLS_CERT_PATH), key: readFileSync(env.TEMPORAL_TLS_KEY_PATH) } }
      : env.TEMPORAL_API_KEY
        ? true
        : undefined;
  return { address: env.TEMPORAL_ADDRESS, tls, apiKey: env.TEMPORAL_API_KEY };
}
