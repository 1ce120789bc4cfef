import { otlpTracesUrl, tracesExporter } from './tracing';

/** Whether and where spans go, by the OpenTelemetry specification's variables. */
describe('tracing settings', () => {
  it('is off unless an exporter or an OTLP endpoint is given', () => {
    expect(tracesExporter({})).toBeUndefined();
    expect(tracesExporter({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBe('otlp');
    expect(tracesExporter({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toBe('otlp');
    expect(tracesExporter({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('otlp');
    expect(tracesExporter({ OTEL_TRACES_EXPORTER: 'console' })).toBe('console');
  });

  it('stays off when told, whatever endpoint is set', () => {
    expect(tracesExporter({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' })).toBeUndefined();
    expect(tracesExporter({ OTEL_SDK_DISABLED: true, OTEL_TRACES_EXPORTER: 'otlp' })).toBeUndefined();
  });

  it('sends to the signal endpoint as given, else to <endpoint>/v1/traces, else the local collector', () => {
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://x:1' })).toBe('http://c:4318/custom');
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(otlpTracesUrl({})).toBe('http://localhost:4318/v1/traces');
  });
});
