import { DEVELOPMENT_JWT_SECRET, EnvironmentError, jwtSecret, loadEnvironment, rateLimits } from './environment';

describe('loadEnvironment', () => {
  it('gives the embedded local run when nothing is set', () => {
    expect(loadEnvironment({})).toMatchObject({
      NODE_ENV: 'development',
      TEMPORAL_ADDRESS: '127.0.0.1:7233',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TASK_QUEUE: 'program-cycles',
      API_PORT: 3000,
      MIGRATIONS_RUN: true,
    });
  });

  it('lists every bad variable in one message', () => {
    let error: unknown;
    try {
      loadEnvironment({ API_PORT: 'eighty', TEMPORAL_ADDRESS: 'no-port', DATABASE_URL: 'mysql://x', AUTH_JWT_SECRET: 'short' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnvironmentError);
    const problems = (error as EnvironmentError).problems.join('\n');
    for (const name of ['API_PORT', 'TEMPORAL_ADDRESS', 'DATABASE_URL', 'AUTH_JWT_SECRET']) expect(problems).toContain(name);
  });

  it('requires a database and a signing secret in production', () => {
    expect(() => loadEnvironment({ NODE_ENV: 'production' })).toThrow(/DATABASE_URL: is required in production[\s\S]*AUTH_JWT_SECRET/);
  });

  it('refuses the published development key in production, however it is given', () => {
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/concentra' };
    for (const secret of [DEVELOPMENT_JWT_SECRET, ` ${DEVELOPMENT_JWT_SECRET}\n`]) {
      expect(() => loadEnvironment({ ...production, AUTH_JWT_SECRET: secret })).toThrow(/AUTH_JWT_SECRET: is the published development key/);
    }
    const env = loadEnvironment({ ...production, AUTH_JWT_SECRET: 'x'.repeat(40) });
    expect(jwtSecret(env)).toBe('x'.repeat(40));
    // An environment assembled by hand still cannot hand out the development key in production.
    expect(() => jwtSecret({ ...env, AUTH_JWT_SECRET: undefined })).toThrow(/development key/);
    expect(() => jwtSecret({ ...env, AUTH_JWT_SECRET: DEVELOPMENT_JWT_SECRET })).toThrow(/development key/);
    expect(jwtSecret(loadEnvironment({}))).toBe(DEVELOPMENT_JWT_SECRET);
  });

  it('takes rate limits from the variables, with generous defaults only under tests', () => {
    expect(rateLimits(loadEnvironment({}))).toEqual({ windowMs: 60_000, perPrincipal: 600, perAddress: 1_200 });
    expect(rateLimits(loadEnvironment({ NODE_ENV: 'test' }))).toEqual({ windowMs: 60_000, perPrincipal: 1_000_000, perAddress: 1_000_000 });
    expect(rateLimits(loadEnvironment({ NODE_ENV: 'test', RATE_LIMIT_PER_PRINCIPAL: '5', RATE_LIMIT_PER_ADDRESS: '9', RATE_LIMIT_WINDOW_SECONDS: '2' }))).toEqual({
      windowMs: 2_000,
      perPrincipal: 5,
      perAddress: 9,
    });
    expect(() => loadEnvironment({ RATE_LIMIT_PER_PRINCIPAL: '0', RATE_LIMIT_PER_ADDRESS: 'many' })).toThrow(/RATE_LIMIT_PER_PRINCIPAL[\s\S]*RATE_LIMIT_PER_ADDRESS/);
  });

  it('reads the OpenTelemetry variables, refusing what the shipped exporter cannot do', () => {
    expect(loadEnvironment({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'false' })).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_SDK_DISABLED: false,
    });
    expect(() => loadEnvironment({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(
      /OTEL_TRACES_EXPORTER[\s\S]*OTEL_EXPORTER_OTLP_ENDPOINT[\s\S]*OTEL_EXPORTER_OTLP_PROTOCOL: only http\/json is shipped/,
    );
  });
});
