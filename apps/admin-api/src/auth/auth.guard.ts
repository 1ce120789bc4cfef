import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppEnvironment, jwtSecret } from '@concentra/config';
import { ACCESS_KEY, type Access } from './roles';
import { tokenClaimsUnverified, verifyOidcToken, verifyToken, type Principal } from '@concentra/auth';
import { IdentityProviderUnreachable, JwksKeys } from './jwks';
import { VerifiedTokens } from './verified-tokens';

export type AuthenticatedRequest = Request & { principal: Principal };

/**
 * Global guard: a bearer JWT whose role is one the route allows. A route that declares nothing
 * is refused for everyone, so no route is ever open by accident. Tokens are the API's own (HS256,
 * AUTH_JWT_SECRET) or, when OIDC_ISSUER is set, the identity provider's (checked with its JWKS).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly verified = new VerifiedTokens();

  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AppEnvironment) private readonly env: AppEnvironment,
    @Inject(JwksKeys) private readonly jwks: JwksKeys,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]);
    if (access && 'public' in access) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const [scheme, token] = header.split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException('a bearer token is required');
    try {
      request.principal = await this.verify(token);
    } catch (error) {
      // Not the token's fault: the problem filter answers 503 with Retry-After.
      if (error instanceof IdentityProviderUnreachable) throw error;
      // Terse on purpose: no expected issuer, no list of roles, nothing that helps forge a token.
      throw new UnauthorizedException((error as Error).name === 'TokenExpiredError' ? 'the token has expired' : 'the token is not valid');
    }
    if (!access) throw new ForbiddenException('this route declares no access and is closed');
    if (!access.roles.includes(request.principal.role) && request.principal.role !== 'admin') {
      throw new ForbiddenException(`role '${request.principal.role}' may not call this route; allowed: ${access.roles.join(', ')}`);
    }
    return true;
  }

  /** A token verified before is taken from `verified` while verifying it again would give the same answer. */
  private async verify(token: string): Promise<Principal> {
    const known = await this.verified.principal(token, (kid) => this.jwks.key(kid));
    if (known) return known;
    const { header, exp } = tokenClaimsUnverified(token);
    const { alg, kid } = header;
    if (alg === 'HS256' || !this.jwks.configured) return this.verified.remember(token, verifyToken(token, jwtSecret(this.env), this.env.AUTH_JWT_ISSUER), exp);
    const key = await this.jwks.key(kid);
    if (!key) throw new Error('no key of the provider matches the token');
    const { OIDC_ISSUER, OIDC_AUDIENCE, OIDC_ROLE_CLAIM, OIDC_ORG_CLAIM } = this.env;
    const principal = verifyOidcToken(token, key, { issuer: OIDC_ISSUER!, audience: OIDC_AUDIENCE!, roleClaim: OIDC_ROLE_CLAIM, orgClaim: OIDC_ORG_CLAIM });
    return this.verified.remember(token, principal, exp, key, kid);
  }
}
