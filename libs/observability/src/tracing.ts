import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource, detectResourcesSync, envDetectorSync } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

/** The OpenTelemetry variables (named by the OTel specification) that decide whether and where spans go. */
export interface TracingSettings {
  OTEL_SDK_DISABLED?: boolean;
  OTEL_TRACES_EXPORTER?: 'otlp' | 'console' | 'none';
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string;
}

/**
 * Which exporter the settings ask for. Off unless asked: OTEL_TRACES_EXPORTER=otlp|console, or an
 * OTLP endpoint given (the specification's default exporter is otlp, but a process with nowhere to
 * send spans should not make them). OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none win.
 */
export function tracesExporter(settings: TracingSettings): 'otlp' | 'console' | undefined {
  if (settings.OTEL_SDK_DISABLED) return undefined;
  if (settings.OTEL_TRACES_EXPORTER) return settings.OTEL_TRACES_EXPORTER === 'none' ? undefined : settings.OTEL_TRACES_EXPORTER;
  return settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || settings.OTEL_EXPORTER_OTLP_ENDPOINT ? 'otlp' : undefined;
}

/** OTLP/HTTP's traces URL: the signal's own endpoint as given, else `<endpoint>/v1/traces` (the specification's rule). */
export function otlpTracesUrl(settings: TracingSettings): string {
  if (settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return settings.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  return `${(settings.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'http://localhost:4318').replace(/\/+$/, '')}/v1/traces`;
}

/** The process's tracing once started: the Temporal worker hands workflow spans to the same processor. */
export interface Tracing {
  readonly provider: NodeTracerProvider;
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Sends what is buffered; resolves when the exporter has answered. */
  flush(): Promise<void>;
  /** Flushes, stops exporting and unregisters the global provider. */
  stop(): Promise<void>;
}

let active: Tracing | undefined;

/**
 * Starts tracing for the process when the settings ask for it, else does nothing (no provider, no
 * interceptors, no middleware: the OTel API's no-op tracer costs nothing). Registers the provider
 * globally with AsyncLocalStorage context and W3C trace-context propagation, so an incoming
 * `traceparent` continues the caller's trace. Spans go out in batches by OTLP/HTTP in JSON
 * (OTEL_EXPORTER_OTLP_HEADERS and OTEL_BSP_* are read by the exporter and the batch processor).
 */
export function startTracing(settings: TracingSettings, service: string): Tracing | undefined {
  if (active) return active;
  const kind = tracesExporter(settings);
  if (!kind) return undefined;
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, override the service's own name.
  const resource = Resource.default().merge(new Resource({ 'service.name': `concentra-${service}` })).merge(detectResourcesSync({ detectors: [envDetectorSync] }));
  const spanProcessor =
    kind === 'otlp' ? new BatchSpanProcessor(new OTLPTraceExporter({ url: otlpTracesUrl(settings) })) : new SimpleSpanProcessor(new ConsoleSpanExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [spanProcessor], mergeResourceWithDefaults: false });
  provider.register();
  const tracing: Tracing = {
    provider,
    spanProcessor,
    resource,
    flush: () => provider.forceFlush(),
    stop: async () => {
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
      if (active === tracing) active = undefined;
    },
  };
  active = tracing;
  return tracing;
}

/** The process's tracing, if started. */
export function activeTracing(): Tracing | undefined {
  return active;
}

/** The current trace id, for log records (none when tracing is off or outside a span). */
export function currentTraceId(): string | undefined {
  const span = trace.getActiveSpan();
  const id = span?.spanContext().traceId;
  return id && span.isRecording() ? id : undefined;
}
