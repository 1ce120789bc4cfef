import { join } from 'node:path';
import { projectRoot } from '@concentra/config';
import { prebuiltBundlePath } from './worker-host';

describe('the workflow bundle the worker runs', () => {
  it('is the one `npm run build` wrote in production, WORKFLOW_BUNDLE_PATH when set, none (bundled at boot) otherwise', () => {
    expect(prebuiltBundlePath({ NODE_ENV: 'production' })).toBe(join(projectRoot(__dirname), 'dist', 'workflow-bundle.js'));
    expect(prebuiltBundlePath({ NODE_ENV: 'production', WORKFLOW_BUNDLE_PATH: '/srv/bundle.js' })).toBe('/srv/bundle.js');
    expect(prebuiltBundlePath({ NODE_ENV: 'development', WORKFLOW_BUNDLE_PATH: '/srv/bundle.js' })).toBe('/srv/bundle.js');
    expect(prebuiltBundlePath({ NODE_ENV: 'development' })).toBeUndefined();
    expect(prebuiltBundlePath({ NODE_ENV: 'test' })).toBeUndefined();
  });
});
