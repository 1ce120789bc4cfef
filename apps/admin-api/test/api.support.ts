/** The admin API alone (no worker) on a test database and the shared Temporal dev server, and its tokens. */
import type { INestApplication } from '@nestjs/common';
import { issueToken, type Principal } from '@concentra/auth';
import { DEVELOPMENT_JWT_SECRET } from '@concentra/config';
import { createAdminApi } from '../src/bootstrap';
import type { TestDatabase } from '../../../test/support/database';

/** A bearer token for a principal, signed with the development key every test API accepts. */
export const bearer = (principal: Principal) => `Bearer ${issueToken(principal, DEVELOPMENT_JWT_SECRET, 'concentra')}`;

/** Starts the HTTP API on `database` (migrated already) for reads and the edge: no worker runs. */
export async function startApi(database: TestDatabase): Promise<INestApplication> {
  Object.assign(process.env, { DATABASE_URL: database.url, TEMPORAL_ADDRESS: process.env.TEST_TEMPORAL_ADDRESS, MIGRATIONS_RUN: 'false' });
  const api = await createAdminApi(['error', 'warn']);
  await api.init();
  return api;
}
