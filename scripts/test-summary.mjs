// Prints vitest's JSON report as one plain closing line ("Node v20.x: N passed, N failed"),
// which CI logs are read for, and exits non-zero when anything failed or nothing ran.
import { readFileSync } from 'node:fs';

const [file, label = `Node ${process.version}`] = process.argv.slice(2);
const report = JSON.parse(readFileSync(file, 'utf8'));
const passed = report.numPassedTests ?? 0;
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0);
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(
  `${label.replace(/[^A-Za-z0-9.]/g, '')}: ${passed} passed, ${failed} failed, ${skipped} skipped`,
);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
