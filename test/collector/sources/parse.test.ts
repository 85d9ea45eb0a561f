// `parse` command: records on stdout exactly as backfill would append, summary on stderr, exit codes.
import { join } from "node:path";
import { expect, it } from "vitest";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { sharedFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

const maple = join(sharedFixtures, "flexlm/debuglog-joseantoniovilar-maple.log");

it("prints the same records as recordsFromFile, identical on a second run", async () => {
  const a = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const b = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const direct = [];
  for await (const r of recordsFromFile("flexlm-debuglog", maple, { timezone: "Europe/Madrid" })) direct.push(r);
  expect(a.code).toBe(0);
  expect(a.lines).toEqual(direct);
  expect(b.lines).toEqual(a.lines);
  const ls = a.lines.filter((r) => r.kind === "usage").reduce((s, r) => s + ((r.data.end - r.data.start) / 1000) * r.data.count, 0);
  expect(a.summary.license_seconds).toBe(ls);
});

it("--sessions totals equal the interval totals", async () => {
  const intervals = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid"]);
  const sessions = await runParse(["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Europe/Madrid", "--sessions"]);
  expect(sessions.lines).toHaveLength(intervals.summary.sessions);
  expect(sessions.lines.reduce((s, r) => s + ((r.end - r.start) / 1000) * r.count, 0)).toBe(intervals.summary.license_seconds);
});

it.each([
  [["--file", maple], "usage"],
  [["--source", "nope", "--file", maple], "unknown_source_kind"],
  [["--source", "flexlm-debuglog", "--file", maple, "--timezone", "Mars/Olympus"], "bad_timezone"],
  [["--source", "flexlm-debuglog", "--file", "/nonexistent/x.log"], "file_not_found"],
  [["--source", "flexlm-debuglog", "--file", maple, "--bogus"], "usage"],
  [["--source", "flexlm-debuglog", "--file", maple, "--package-features="], "usage"],
  [["--source", "flexlm-lmstat", "--file", maple, "--package-features", "SUITE"], "bad_package_features"],
])("bad arguments %j exit 2 with code %s and print nothing on stdout", async (argv, code) => {
  const r = await runParse(argv as string[]);
  expect(r.code).toBe(2);
  expect(r.lines).toEqual([]);
  expect(JSON.parse(r.stderr).error).toBe(code);
});
