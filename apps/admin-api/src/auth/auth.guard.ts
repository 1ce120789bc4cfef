import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { AppEnvironment, jwtSecret } from '@concentra/config';
import { ACCESS_KEY, type Access } from './roles';
import { verifyToken, type Principal } from '@concentra/auth';

export type AuthenticatedRequest = Request & { principal: Principal };

/**
 * Global guard: a bearer JWT whose role is one the route allows. A route that declares nothing
 * is refused for everyone, so no route is ever open by accident.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(Reflector) private readonly reflector: Reflector,
    @Inject(AppEnvironment) private readonly env: AppEnvironment,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS_KEY, [context.getHandler(), context.getClass()]);
    if (access && 'public' in access) return true;
    const request = context.switchToHttp().getRequest<AuthenticatedRequest>();
    const header = request.headers.authorization ?? '';
    const [scheme, token] = header.split(' ');
    if (scheme !== 'Bearer' || !token) throw new UnauthorizedException('a bearer token is required');
    try {
      request.principal = verifyToken(token, jwtSecret(this.env), this.env.AUTH_JWT_ISSUER);
    } catch (error) {
      // Terse on purpose: no expected issuer, no list of roles, nothing that helps forge a token.
      throw new UnauthorizedException((error as Error).name === 'TokenExpiredError' ? 'the token has expired' : 'the token is not valid');
    }
    if (!access) throw new ForbiddenException('this route declares no access and is closed');
    if (!access.roles.includes(request.principal.role) && request.principal.role !== 'admin') {
      throw new ForbiddenException(`role '${request.principal.role}' may not call this route; allowed: ${access.roles.join(', ')}`);
    }
    return true;
  }
}
