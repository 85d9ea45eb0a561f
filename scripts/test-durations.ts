// Writes test/durations.json (seconds per test file) from the last run's JSON report, for the
// longest-first order of `npm test` (test/support/longest-first.ts). Run after a full `npm test`
// on a quiet machine when files were added or grew: `npm run test:durations`.
import { globSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const report = JSON.parse(readFileSync(`${root}reports/vitest.json`, "utf8")) as { testResults: Array<{ name: string; startTime: number; endTime: number }> };
// Only a whole run's report: a single-file run would leave every other file without a duration.
const onDisk = globSync("test/**/*.test.ts", { cwd: root }).length;
if (report.testResults.length < onDisk) {
  console.error(`reports/vitest.json covers ${report.testResults.length} of ${onDisk} test files: run the whole \`npm test\` first`);
  process.exit(1);
}
const seconds = Object.fromEntries(report.testResults
  .map((t) => [relative(root, t.name), Math.round((t.endTime - t.startTime) / 100) / 10] as const)
  .filter(([, s]) => s >= 1)
  .sort((a, b) => b[1] - a[1]));
writeFileSync(`${root}test/durations.json`, `${JSON.stringify(seconds, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(seconds).length} files of 1 s or more`);
