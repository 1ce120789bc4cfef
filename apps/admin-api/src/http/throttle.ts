import { Injectable, Module, type ExecutionContext } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerModule, type ThrottlerLimitDetail, type ThrottlerRequest } from '@nestjs/throttler';
import { AppEnvironment, rateLimits } from '@concentra/config';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { ThrottleCounts } from './throttle-storage';

/**
 * Two limits per window (RATE_LIMIT_* in libs/config): per client address, counted before the token
 * is checked (so a flood of bad tokens is limited too), and per principal (role and subject), counted
 * once the token is verified (so one caller cannot use many addresses). One guard class each, in
 * that order around the AuthGuard; a refusal is a 429 with Retry-After (seconds).
 */
export const THROTTLERS = { address: 'address', principal: 'principal' } as const;

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [AppEnvironment],
      useFactory: (env: AppEnvironment) => {
        const limits = rateLimits(env);
        return {
          setHeaders: false,
          storage: new ThrottleCounts(),
          throttlers: [
            { name: THROTTLERS.address, ttl: limits.windowMs, limit: limits.perAddress },
            {
              name: THROTTLERS.principal,
              ttl: limits.windowMs,
              limit: limits.perPrincipal,
              getTracker: (req) => {
                const { principal } = req as AuthenticatedRequest;
                return `${principal.role}:${principal.sub}`;
              },
            },
          ],
        };
      },
    }),
  ],
})
export class EdgeThrottlerModule {}

abstract class OneThrottlerGuard extends ThrottlerGuard {
  protected abstract readonly throttlerName: string;

  protected override handleRequest(props: ThrottlerRequest): Promise<boolean> {
    if (props.throttler.name !== this.throttlerName) return Promise.resolve(true);
    return super.handleRequest(props);
  }

  protected override async throwThrottlingException(context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const seconds = Math.max(1, Math.ceil(detail.isBlocked ? detail.timeToBlockExpire : detail.timeToExpire));
    context.switchToHttp().getResponse<{ setHeader(name: string, value: string): void }>().setHeader('Retry-After', String(seconds));
    return super.throwThrottlingException(context, detail);
  }
}

@Injectable()
export class AddressThrottleGuard extends OneThrottlerGuard {
  protected readonly throttlerName = THROTTLERS.address;
}

/** Runs after the AuthGuard; open routes (no principal) are limited by address only. */
@Injectable()
export class PrincipalThrottleGuard extends OneThrottlerGuard {
  protected readonly throttlerName = THROTTLERS.principal;

  protected override shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.switchToHttp().getRequest<Partial<AuthenticatedRequest>>().principal === undefined);
  }
}
