// One Jest run, three tiers told apart by file name:
//   *.spec.ts        unit (pure, no I/O)
//   *.wf-spec.ts     workflow tests on the Temporal time-skipping test server
//   *.int-spec.ts    integration: real PostgreSQL, Temporal dev server, worker and HTTP API
const path = require('node:path');
const swcrc = JSON.parse(require('node:fs').readFileSync(path.join(__dirname, '.swcrc'), 'utf8'));

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: ['<rootDir>/{apps,libs,workflows,tools,test}/**/*.{spec,wf-spec,int-spec}.ts'],
  transform: {
    '^.+\\.(t|j|mj)s$': [
      '@swc/jest',
      { ...swcrc, jsc: { ...swcrc.jsc, baseUrl: __dirname }, swcrc: false },
    ],
  },
  // NestJS 12 (and file-type & co. that @nestjs/common imports) ship ESM only. Node 22.12+ loads
  // them from our CommonJS natively (require(esm)), so `node dist/...` needs nothing; but Jest runs
  // modules through its own loader, which does not implement require(esm) on any Node version, so
  // swc still turns these packages into CommonJS for the tests.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|@apidevtools|file-type|strtok3|token-types|uint8array-extras|@tokenizer)/)'],
  moduleNameMapper: {
    '^@concentra/(domain|config|auth|persistence|temporal|gpu|evaluation|notifications|audit|observability)$': '<rootDir>/libs/$1/src',
    '^@concentra/workflows/(.*)$': '<rootDir>/workflows/src/$1',
    '^@concentra/tools/(.*)$': '<rootDir>/tools/$1',
  },
  setupFiles: ['<rootDir>/test/support/quiet-runtime.ts'],
  globalSetup: '<rootDir>/test/global-setup.ts',
  globalTeardown: '<rootDir>/test/global-teardown.ts',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  testTimeout: 120_000,
  maxWorkers: 2,
};
