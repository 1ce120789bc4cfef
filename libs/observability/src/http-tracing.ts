import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import type { Tracing } from './tracing';

/**
 * Express middleware (installed only when tracing is on): one SERVER span per request, continuing an
 * incoming W3C `traceparent`, named by the route pattern once routing has matched it, and active
 * while the request is handled, so the Temporal client's spans (start, Update) become its children.
 */
export function httpTracing(tracing: Tracing) {
  const tracer = tracing.provider.getTracer('@concentra/http');
  return (req: Request, res: Response, next: NextFunction): void => {
    const parent = propagation.extract(context.active(), req.headers);
    const span = tracer.startSpan(
      req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, 'url.path': req.path, 'url.scheme': req.protocol } },
      parent,
    );
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : undefined;
      if (route) {
        span.updateName(`${req.method} ${route}`);
        span.setAttribute('http.route', route);
      }
      span.setAttribute('http.response.status_code', res.statusCode);
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    res.once('finish', end);
    res.once('close', end); // the client went away before the answer
    context.with(trace.setSpan(parent, span), next);
  };
}
