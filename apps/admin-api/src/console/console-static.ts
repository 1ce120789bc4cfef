import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';
import helmet from 'helmet';
import type { Environment } from '@concentra/config';

/**
 * Where `npm run build` put the console: dist/console of the checkout, whether this file runs from
 * source (apps/admin-api/src/console) or from the build (dist/apps/admin-api/src/console).
 */
export function consoleDirectory(configured: string | undefined): string | undefined {
  const candidates = configured ? [resolve(configured)] : [resolve(__dirname, '../../../../dist/console'), resolve(__dirname, '../../../../console')];
  return candidates.find((dir) => existsSync(join(dir, 'index.html')));
}

/** What the console needs to know to sign people in: the identity provider, and whether the local sign-in exists. */
export function consoleConfig(env: Environment) {
  return {
    devSignIn: env.NODE_ENV !== 'production',
    oidc: env.OIDC_ISSUER ? { issuer: env.OIDC_ISSUER, clientId: env.OIDC_AUDIENCE!, scope: 'openid', roleClaim: env.OIDC_ROLE_CLAIM, orgClaim: env.OIDC_ORG_CLAIM } : null,
  };
}

/**
 * The web console under /console: its files, its sign-in configuration (config.json), and
 * index.html for every other GET below it (the console routes in the browser). Its CSP is helmet's
 * default but without upgrade-insecure-requests (which would send a local http run's requests to
 * https) and with the identity provider's origin in connect-src (the console fetches its discovery
 * document and redeems the sign-in code there). The API's own routes keep helmet's default.
 */
export function serveConsole(app: NestExpressApplication, dir: string | undefined, env: Environment): void {
  const config = consoleConfig(env);
  const provider = config.oidc ? [new URL(config.oidc.issuer).origin] : [];
  const csp = helmet.contentSecurityPolicy({ directives: { upgradeInsecureRequests: null, connectSrc: ["'self'", ...provider] } });
  app.use('/console', csp);
  app.use('/console/config.json', (_request: Request, response: Response) => void response.json(config));
  if (!dir) {
    app.use('/console', (_request: Request, response: Response) => {
      const body = { statusCode: 404, error: 'not_found', message: 'the console is not built: run npm run build (or set CONSOLE_DIR)' };
      response.status(404).type('application/problem+json').send(JSON.stringify(body));
    });
    return;
  }
  app.useStaticAssets(dir, { prefix: '/console', index: 'index.html', fallthrough: true, immutable: false });
  app.use('/console', (request: Request, response: Response, next: NextFunction) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    response.sendFile(join(dir, 'index.html'));
  });
}
