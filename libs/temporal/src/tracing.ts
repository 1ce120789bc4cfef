import type { ClientInterceptors } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  type OpenTelemetrySinks,
} from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks, WorkerInterceptors } from '@temporalio/worker';
import { activeTracing } from '@concentra/observability';

/**
 * The OpenTelemetry workflow interceptors, compiled into every workflow bundle (a prebuilt bundle
 * cannot take them at worker start). They only add span context to headers, never a command, and
 * the SDK's flags keep histories recorded without them replaying (workflows/test/replay.wf-spec.ts).
 */
export const WORKFLOW_TRACING_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * Where the bundle's workflow spans go: the process's span processor when tracing is on; dropped
 * otherwise (the sink must exist whenever a worker or a replayer runs the bundle, or the SDK logs
 * an error for every call). Every Worker.create and replay passes these sinks.
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
