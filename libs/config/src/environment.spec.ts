import { EnvironmentError, loadEnvironment } from './environment';

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
});
