import { SetMetadata } from '@nestjs/common';
import type { Role } from '@concentra/auth';

export const ACCESS_KEY = 'concentra:access';
export type Access = { public: true } | { roles: readonly Role[] };

/** Who may call a route. Every route declares it; the guard refuses a route that does not. */
export const Allow = (...roles: Role[]) => SetMetadata(ACCESS_KEY, { roles } satisfies Access);
/** Health and docs only. */
export const Public = () => SetMetadata(ACCESS_KEY, { public: true } satisfies Access);
