// jsonl source: one finished session per line, RFC 3339 (with offset) or ms instants.
import { join } from "node:path";
import { expect, it } from "vitest";
import { syntheticFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

it("jsonl lines become whole sessions; a local time without offset and non-JSON are unknown lines", async () => {
  const { code, lines, summary } = await runParse(["--source", "jsonl", "--file", join(syntheticFixtures, "jsonl/sessions-synthetic.jsonl"), "--sessions", "--name", "app"]);
  expect(code).toBe(0);
  expect(lines.map(({ session, ...rest }) => rest).sort((a, b) => a.start - b.start)).toEqual([
    { source: "app", daemon: "jsonl", feature: "render", user: "bob", host: "ws-2", start: 1764241200000, end: 1764243000000, count: 1, final: true },
    { source: "app", daemon: "appd", feature: "render", version: "3.1", user: "ann", host: "ws-1", start: Date.parse("2026-11-27T10:00:00Z"), end: Date.parse("2026-11-27T11:30:00Z"), count: 2, final: true },
  ].sort((a, b) => a.start - b.start));
  expect(summary.license_seconds).toBe(1800 + 5400 * 2);
  expect(summary.unknown_lines).toBe(2);
});

it("takes no time zone: --timezone is refused (its times carry their offset), and the summary says the file's own offsets were read", async () => {
  const file = join(syntheticFixtures, "jsonl/sessions-synthetic.jsonl");
  const refused = await runParse(["--source", "jsonl", "--file", file, "--timezone", "Europe/Madrid"]);
  expect([refused.code, JSON.parse(refused.stderr)]).toEqual([2, { error: "bad_timezone", message: "--timezone: jsonl times carry their own UTC offset (it would ignore a time zone)" }]);
  const { code, summary } = await runParse(["--source", "jsonl", "--file", file]);
  expect([code, summary.timezone, summary.timezone_from]).toEqual([0, null, "file"]);
});
