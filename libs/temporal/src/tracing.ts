import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { join } from 'node:path';
import { projectRoot } from '@concentra/config';
import { activeTracing } from '@concentra/observability';

/**
 * The workflow interceptors (workflows/src/tracing.interceptors.ts), compiled into every workflow
 * bundle (a prebuilt bundle cannot take them at worker start). They engage the OpenTelemetry
 * interceptors for a workflow only once a traced call reaches it; they never add a command, and the
 * recorded histories replay unchanged (workflows/test/replay.wf-spec.ts).
 */
export const WORKFLOW_TRACING_MODULE = join(projectRoot(__dirname), 'workflows', 'src', 'tracing.interceptors.ts');

/**
 * Where the bundle's workflow spans go: the process's span processor when tracing is on; dropped
 * otherwise (a traced workflow may still be handled or replayed by a process without tracing, and
 * without the sink the SDK logs an error for every call). Every Worker.create and replay passes these.
 */
export function workflowSinks(): InjectedSinks<OpenTelemetrySinks> {
  const tracing = activeTracing();
  if (tracing) return { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) };
  return { exporter: { export: { fn: () => undefined, callDuringReplay: false } } };
}

/** Client interceptors: start, signal, Update and query calls open a span and carry its context in headers. None when tracing is off. */
export function clientTracingInterceptors(): ClientInterceptors | undefined {
  return activeTracing() ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

/** Activity interceptors: each run is a span, child of the workflow's schedule span. None when tracing is off. */
export function workerTracingInterceptors(): WorkerInterceptors | undefined {
  if (!activeTracing()) return undefined;
  return {
    activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx), outbound: new OpenTelemetryActivityOutboundInterceptor(ctx) })],
  };
}
