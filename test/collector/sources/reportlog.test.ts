// RLM report log (synthetic fixture: no public sample exists) — sessions worked out by hand.
import { join } from "node:path";
import { expect, it } from "vitest";
import { syntheticFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

it("the synthetic std report log gives exact sessions, real denials only, and closes at SHUTDOWN", async () => {
  const { code, lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm/reportlog-synthetic-std.rl"), "--timezone", "Europe/Paris", "--sessions", "--name", "rlm1"]);
  expect(code).toBe(0);
  const s = (user: string, host: string, handle: string, start: string, end: string, count: number) =>
    ({ source: "rlm1", daemon: "acme", feature: "solver", version: "2.0", user, host, start: Date.parse(start), end: Date.parse(end), count, final: true });
  // 03/26 is CET (UTC+1); 03/27 02:00 is the switch to CEST (UTC+2).
  expect(lines.map(({ session, ...rest }) => rest).sort((a, b) => a.start - b.start)).toEqual([
    s("alice", "ws-01", "1a", "2022-03-26T21:15:00Z", "2022-03-26T23:45:10Z", 2),
    s("bob.smith", "ws-02", "1b", "2022-03-26T22:50:30Z", "2022-03-27T02:30:00Z", 1),
    s("dave", "ws-04", "2c", "2022-03-27T03:00:00Z", "2022-03-27T04:00:00Z", 1),
  ]);
  expect(summary.denials).toBe(1);
  expect(summary.ignored_lines).toBe(1);
  expect(summary.unknown_lines).toBe(0);
});
