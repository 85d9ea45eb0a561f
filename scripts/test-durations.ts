// Writes test/durations.json (seconds per test file) from the last run's reports/file-times.json
// (test/support/file-times.ts: each file's setup, imports, hooks and tests), for the longest-first
// order of `npm test` (test/support/longest-first.ts). Run after a full `npm test` on a quiet
// machine when files were added or grew: `npm run test:durations`.
import { globSync, readFileSync, writeFileSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const times = JSON.parse(readFileSync(`${root}reports/file-times.json`, "utf8")) as Record<string, number>;
// Only a whole run's times: a single-file run would leave every other file without a duration.
const onDisk = globSync("test/**/*.test.ts", { cwd: root }).length;
if (Object.keys(times).length < onDisk) {
  console.error(`reports/file-times.json covers ${Object.keys(times).length} of ${onDisk} test files: run the whole \`npm test\` first`);
  process.exit(1);
}
const seconds = Object.fromEntries(Object.entries(times).filter(([, s]) => s >= 1).sort((a, b) => b[1] - a[1]));
writeFileSync(`${root}test/durations.json`, `${JSON.stringify(seconds, null, 2)}\n`);
console.log(`test/durations.json: ${Object.keys(seconds).length} files of 1 s or more`);
