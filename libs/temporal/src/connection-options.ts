import { toClientOptions } from '@temporalio/envconfig';
import type { Environment } from '@concentra/config';

/**
 * Address, TLS (client pair, server CA, server name), API key and gRPC metadata for a client or
 * worker connection, mapped from the validated environment by the SDK's own `toClientOptions`:
 * TLS is on when the profile configures it or an API key is given; the files are read here.
 */
export function connectionOptions(env: Environment) {
  const { address, tls, apiKey, metadata } = toClientOptions({ ...env.temporal, address: env.TEMPORAL_ADDRESS }).connectionOptions;
  return { address, tls, apiKey, metadata };
}
