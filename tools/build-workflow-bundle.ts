/**
 * Run by `npm run build` (or `node dist/tools/build-workflow-bundle.js <file>`): the workflow bundle,
 * built once (default dist/workflow-bundle.js; a worker with NODE_ENV=production loads that one). A worker started with WORKFLOW_BUNDLE_PATH=<file> runs exactly that code
 * and starts without webpack: what a deploy ships, and what the fault suite restarts on.
 */
import { resolve } from 'node:path';
import { writeWorkflowBundle } from '@concentra/temporal';

async function main(): Promise<void> {
  const out = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  await writeWorkflowBundle(out);
  process.stdout.write(`workflow bundle written to ${out}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
