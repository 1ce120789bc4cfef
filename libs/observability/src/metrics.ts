import type { NextFunction, Request, Response } from 'express';
import { Counter, Gauge, Histogram, register } from 'prom-client';

/*
 * The process's metrics, on prom-client's default registry (one per process): `GET /metrics` on the
 * API and on the worker's listener serves it in Prometheus text.
 */

export const httpDuration = new Histogram({
  name: 'concentra_http_request_duration_seconds',
  help: 'HTTP request latency by route (the route pattern, not the URL) and status',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

export const commandsTotal = new Counter({
  name: 'concentra_commands_total',
  help: 'Commands sent to a cycle or a program, by type and outcome (accepted: 2xx, refused: 4xx, failed: 5xx)',
  labelNames: ['command', 'outcome'] as const,
});

export const eventAppends = new Histogram({
  name: 'concentra_event_append_duration_seconds',
  help: 'Event store appends (the record activity) and their latency, by outcome',
  labelNames: ['outcome'] as const,
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
});

export const eventsAppended = new Counter({ name: 'concentra_events_appended_total', help: 'Domain events stored (new, not replays of stored ones)' });

/** Route patterns of commands: every POST, PUT under /v1 (the API's writes). */
function commandOf(method: string, route: string): string | undefined {
  if (method !== 'POST' && method !== 'PUT') return undefined;
  return route.replace(/^\/v1\//, '').replace(/:(\w+)/g, '{$1}');
}

/** Express middleware: latency by route pattern and status, and commands by outcome. */
export function httpMetrics(req: Request, res: Response, next: NextFunction): void {
  const end = httpDuration.startTimer();
  res.on('finish', () => {
    const route = req.route ? `${req.baseUrl}${String((req.route as { path: string }).path)}` : 'unmatched';
    end({ method: req.method, route, status: String(res.statusCode) });
    const command = req.route ? commandOf(req.method, route) : undefined;
    if (command) {
      const outcome = res.statusCode < 400 ? 'accepted' : res.statusCode < 500 ? 'refused' : 'failed';
      commandsTotal.inc({ command, outcome });
    }
  });
  next();
}

/** A gauge read from the database when scraped. */
export function scrapedGauge(name: string, help: string, labelNames: string[], read: () => Promise<{ labels?: Record<string, string>; value: number }[]>): Gauge {
  const existing = register.getSingleMetric(name);
  if (existing) register.removeSingleMetric(name);
  return new Gauge({
    name,
    help,
    labelNames,
    async collect() {
      this.reset();
      for (const { labels, value } of await read().catch(() => [])) this.set(labels ?? {}, value);
    },
  });
}

export async function metricsText(): Promise<{ contentType: string; body: string }> {
  return { contentType: register.contentType, body: await register.metrics() };
}
