import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The folder holding the project's nest-cli.json, whether code runs from source or from dist/. */
export function projectRoot(from: string = __dirname): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'nest-cli.json'))) return dir;
  }
  return process.cwd();
}
