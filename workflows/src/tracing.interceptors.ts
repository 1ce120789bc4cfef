/**
 * Not a workflow: the workflow interceptors compiled into every bundle (libs/temporal's
 * workflowBundleOptions). They hand a workflow to the OpenTelemetry interceptors only once a traced
 * call has reached it, i.e. its start, an accepted Update or a signal carried a trace context header
 * (the API sends one only while tracing is on). Until then every call passes straight through: with
 * tracing off a workflow makes no spans at all (replaying the recorded histories is as fast as
 * before). The decision reads only what the history records (start, signal and accepted-Update
 * headers; never a query's or a validator's, which are not recorded), so a replay decides the same.
 */
import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow';
import type { Headers, WorkflowInboundCallsInterceptor, WorkflowInterceptors, WorkflowOutboundCallsInterceptor } from '@temporalio/workflow';

/** Where the OpenTelemetry interceptors carry the span context (their TRACE_HEADER). */
const TRACE_HEADER = '_tracer-data';

export const interceptors = (): WorkflowInterceptors => {
  // One workflow's state: the factory is called once per workflow run.
  let traced: { inbound: OpenTelemetryInboundInterceptor; outbound: OpenTelemetryOutboundInterceptor } | undefined;
  const carries = (headers: Headers) => TRACE_HEADER in headers;
  const engage = (headers: Headers) => {
    if (!traced && carries(headers)) traced = { inbound: new OpenTelemetryInboundInterceptor(), outbound: new OpenTelemetryOutboundInterceptor() };
    return traced;
  };

  const inbound: WorkflowInboundCallsInterceptor = {
    execute: (input, next) => engage(input.headers)?.inbound.execute(input, next) ?? next(input),
    handleSignal: (input, next) => engage(input.headers)?.inbound.handleSignal(input, next) ?? next(input),
    handleUpdate: (input, next) => engage(input.headers)?.inbound.handleUpdate(input, next) ?? next(input),
    // A validator's call is not in the history when it refuses: it may be traced, never engage.
    validateUpdate: (input, next) => ((traced && carries(input.headers)) ? traced.inbound.validateUpdate(input, next) : next(input)),
  };
  const outbound: WorkflowOutboundCallsInterceptor = {
    scheduleActivity: (input, next) => traced?.outbound.scheduleActivity(input, next) ?? next(input),
    scheduleLocalActivity: (input, next) => traced?.outbound.scheduleLocalActivity(input, next) ?? next(input),
    startChildWorkflowExecution: (input, next) => traced?.outbound.startChildWorkflowExecution(input, next) ?? next(input),
    continueAsNew: (input, next) => traced?.outbound.continueAsNew(input, next) ?? next(input),
    signalWorkflow: (input, next) => traced?.outbound.signalWorkflow(input, next) ?? next(input),
    getLogAttributes: (input, next) => traced?.outbound.getLogAttributes(input, next) ?? next(input),
  };
  return { inbound: [inbound], outbound: [outbound], internals: [new OpenTelemetryInternalsInterceptor()] };
};
