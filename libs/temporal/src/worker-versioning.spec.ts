import { loadEnvironment } from '@concentra/config';
import { bundleBuildId, deploymentOptions } from './worker-versioning';

/** What the worker declares to the server under each WORKER_VERSIONING. */
describe('worker deployment options', () => {
  const code = 'workflow bundle code';

  it('are off outside production unless asked, auto-upgrade in production', () => {
    expect(deploymentOptions(loadEnvironment({}), code)).toBeUndefined();
    expect(deploymentOptions(loadEnvironment({ NODE_ENV: 'test' }), code)).toBeUndefined();
    const production = { NODE_ENV: 'production', DATABASE_URL: 'postgres://db/concentra', AUTH_JWT_SECRET: 'x'.repeat(40) };
    expect(deploymentOptions(loadEnvironment(production), code)).toEqual({
      version: { deploymentName: 'concentra', buildId: bundleBuildId(code) },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
    expect(deploymentOptions(loadEnvironment({ ...production, WORKER_VERSIONING: 'off' }), code)).toBeUndefined();
  });

  it('name the build by the bundle unless WORKER_BUILD_ID says, and pin when asked', () => {
    expect(bundleBuildId(code)).toMatch(/^bundle-[0-9a-f]{16}$/);
    expect(bundleBuildId(code)).not.toBe(bundleBuildId(`${code} changed`));
    expect(deploymentOptions(loadEnvironment({ WORKER_VERSIONING: 'pinned', WORKER_DEPLOYMENT_NAME: 'grants', WORKER_BUILD_ID: 'v2.3.1+abc' }), code)).toEqual({
      version: { deploymentName: 'grants', buildId: 'v2.3.1+abc' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    });
  });

  it('refuses names the server cannot take', () => {
    expect(() => loadEnvironment({ WORKER_DEPLOYMENT_NAME: 'has.dot', WORKER_BUILD_ID: 'has space', WORKER_VERSIONING: 'sometimes' })).toThrow(
      /WORKER_VERSIONING[\s\S]*WORKER_DEPLOYMENT_NAME[\s\S]*WORKER_BUILD_ID/,
    );
  });
});
