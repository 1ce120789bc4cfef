import type { OpenAPIObject } from '@nestjs/swagger';
import type { NextFunction, Request, Response } from 'express';

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/**
 * A known path asked with a method it does not have (TRACE, DELETE, OPTIONS, ...) is a 405 with
 * `Allow`, not a 404: the paths and their methods come from the API contract itself.
 */
export function methodNotAllowed(document: OpenAPIObject) {
  const routes = Object.entries(document.paths).map(([path, item]) => {
    const allow = Object.keys(item).filter((m) => METHODS.has(m)).map((m) => m.toUpperCase());
    if (allow.includes('GET')) allow.push('HEAD');
    const pattern = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+');
    return { pattern: new RegExp(`^${pattern}/?$`), allow };
  });
  return (request: Request, response: Response, next: NextFunction): void => {
    const route = routes.find((r) => r.pattern.test(request.path));
    if (!route || route.allow.includes(request.method)) return next();
    response.setHeader('Allow', route.allow.join(', '));
    const body = { statusCode: 405, error: 'method_not_allowed', message: `${request.method} is not allowed on this path; allowed: ${route.allow.join(', ')}` };
    response.status(405).type('application/problem+json').send(JSON.stringify(body));
  };
}
