// Jest's own summary is not a line every CI reader knows; print the plain closing line
// ('N passed, N failed') as the very last line of the run, after Jest's summary.
const { writeSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const skipped = results.numPendingTests + results.numTodoTests;
    const failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    const line = `jest: ${results.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`;
    process.once('exit', () => writeSync(1, `\n${line}`));
  }
}
module.exports = SummaryReporter;
