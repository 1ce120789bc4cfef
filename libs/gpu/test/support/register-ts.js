// Lets a plain `node` child process load the TypeScript sources (with the @concentra/* aliases)
// the way Jest does: swc with the repository's .swcrc. Used by the crash test's child process.
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const Module = require('node:module');

const root = resolve(__dirname, '..', '..', '..', '..');
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));

Module._extensions['.ts'] = function compile(module, filename) {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    ...swcrc,
    filename,
    swcrc: false,
    sourceMaps: 'inline',
    jsc: { ...swcrc.jsc, baseUrl: root },
  });
  module._compile(code, filename);
};
