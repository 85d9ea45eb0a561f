// RLM report log (synthetic fixture: no public sample exists) — sessions worked out by hand.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { quotedFields } from "../../../collector/sources/quoted-fields.ts";
import { RlmReportLogSource } from "../../../collector/sources/rlm-reportlog.ts";
import type { SourceEvent } from "../../../collector/sources/events.ts";
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

it("a time the DST fall-back hour prints twice is read in the pass that keeps the records in order (std and small formats)", async () => {
  for (const file of ["reportlog-synthetic-dst-fallback.rl", "reportlog-synthetic-small-dst-fallback.rl"]) {
    const { code, lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm", file), "--timezone", "Europe/Madrid", "--sessions"]);
    expect(code).toBe(0);
    const got = lines.map((s) => [s.user, s.start, s.end]).sort((a, b) => a[1] - b[1]);
    // Madrid, 27 Oct 2019: 2:00–2:59 is printed first in CEST (UTC+2), then again in CET (UTC+1).
    const small = file.includes("small");
    const want = [
      ["alice", Date.parse("2019-10-26T23:30:00Z"), Date.parse("2019-10-27T01:45:00Z")], // 1:30 CEST → 2:45 CET: 2 h 15, not 1 h 15
      ["bob", Date.parse(small ? "2019-10-27T00:30:00Z" : "2019-10-27T00:30:40Z"), Date.parse("2019-10-27T01:10:00Z")], // 2:30 CEST → 2:10 CET: 40 min, not lost
    ];
    if (small) expect(got, file).toEqual(want);
    else expect(got, file).toEqual([...want, ["carol", Date.parse("2019-10-27T02:30:00Z"), Date.parse("2019-10-27T02:40:00Z")]]);
    expect(summary.zero_length_sessions, file).toBe(0);
  }
  // A DENY prints no seconds: at 2:30 under an OUT at 2:30:40 it is the same minute, not an hour later.
  const { lines } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm/reportlog-synthetic-dst-fallback.rl"), "--timezone", "Europe/Madrid"]);
  expect(lines.filter((r) => r.kind === "denial").map((r) => [r.data.user, r.data.at])).toEqual([["erin", Date.parse("2019-10-27T00:30:00Z")]]);
});

it("after a TIMEJUMP later times are read back by its minutes: a session across it is billed the time that passed, until the next START", async () => {
  const run = async (file: string) => {
    const { code, lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm", file), "--timezone", "UTC", "--sessions"]);
    expect(code).toBe(0);
    return { got: lines.map((s) => [s.user, s.start, s.end]).sort((a, b) => a[1] - b[1]), summary };
  };
  const std = await run("reportlog-synthetic-timejump.rl");
  expect(std.got).toEqual([
    ["alice", Date.parse("2022-05-02T10:00:00Z"), Date.parse("2022-05-02T10:30:00Z")], // set back an hour at 10:20: the IN at 9:30 is 30 min on, not 30 min before (lost)
    ["bob", Date.parse("2022-05-02T12:00:00Z"), Date.parse("2022-05-02T12:30:00Z")], // then on 2 h: 30 min, not 2 h 30
    ["carol", Date.parse("2022-05-02T14:10:00Z"), Date.parse("2022-05-02T14:40:00Z")], // START: printed time trusted again
  ]);
  expect(std.summary.clock_steps).toBe(2);
  expect(std.summary.zero_length_sessions).toBe(0);
  // Small format: a jump back of two hours is not read as the next day.
  const small = await run("reportlog-synthetic-small-timejump.rl");
  expect(small.got).toEqual([
    ["alice", Date.parse("2022-05-02T10:00:00Z"), Date.parse("2022-05-02T10:20:00Z")],
    ["bob", Date.parse("2022-05-02T11:00:00Z"), Date.parse("2022-05-02T11:20:00Z")],
  ]);
});

it("INUSE records are read with and without the share_handle of reportlog v12.2+ (12 or 13 fields)", async () => {
  const header = ["RLM Report Log Format 0, version 15.1, authenticated", "ISV: acme, RLM version 15.1 BL2", "START licsrv1 05/03/2022 00:00"];
  const dir = mkdtempSync(join(tmpdir(), "tally-inuse-"));
  for (const inuse of ['INUSE solver 2.0 1 alice ws-01 "" 2 1a 0 4f2 05/02 22:00:00', 'INUSE solver 2.0 1 alice ws-01 "" 2 1a 4f2 05/02 22:00:00']) {
    writeFileSync(join(dir, "inuse.rl"), [...header, inuse, 'IN 1 solver 2.0 alice ws-01 "" 2 0 0 1a 05/03 02:00:00'].join("\n") + "\n");
    const { lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(dir, "inuse.rl"), "--timezone", "UTC", "--sessions"]);
    expect(lines.map((s) => [s.user, s.count, s.start, s.end]), inuse).toEqual([["alice", 2, Date.parse("2022-05-02T22:00:00Z"), Date.parse("2022-05-03T02:00:00Z")]]);
    expect([summary.unknown_lines, summary.orphan_checkins], inuse).toEqual([0, 0]);
  }
});

it("the notes under the format line at the head of a report log are no unknown lines", async () => {
  // As OpenLM's RLM knowledge-base article quotes a report log's first lines (ISV ssi, RLM 11.1).
  const dir = mkdtempSync(join(tmpdir(), "tally-header-"));
  writeFileSync(join(dir, "header.rl"), [
    "RLM Report Log Format 0, version 11.0, authenticated",
    "ISV: ssi, RLM version 11.1 BL2",
    "Logfile format Copyright (C) 2006-2014 Reprise Software, Inc.",
    "For documentation on this format, email info@reprisesoftware.com",
    "You are encouraged to build tools to process this data.",
    "START licsrv1 05/03/2022 00:00",
  ].join("\n") + "\n");
  const { code, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(dir, "header.rl"), "--timezone", "UTC"]);
  expect(code).toBe(0);
  expect([summary.unknown_lines, summary.unknown_samples]).toEqual([0, []]);
});

it("a new log file's START (rotation) is no restart when INUSE records follow it: what they list goes on, once; a START with none ends everything", async () => {
  const { code, lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm/reportlog-synthetic-rotation.rl"), "--timezone", "UTC", "--sessions"]);
  expect(code).toBe(0);
  expect(lines.map((s) => [s.user, s.count, s.start, s.end]).sort((a, b) => a[2] - b[2])).toEqual([
    ["alice", 2, Date.parse("2022-05-02T22:00:00Z"), Date.parse("2022-05-03T02:00:00Z")], // one session across the rotation at midnight, not 22:00–00:00 twice
    ["bob", 1, Date.parse("2022-05-02T23:00:00Z"), Date.parse("2022-05-03T00:00:00Z")], // not listed by the new file: ended by its last record before
    ["carol", 1, Date.parse("2022-05-03T03:00:00Z"), Date.parse("2022-05-03T04:00:00Z")], // crash: the START at 5:00 lists nothing
    ["dave", 1, Date.parse("2022-05-03T05:10:00Z"), Date.parse("2022-05-03T05:40:00Z")],
  ]);
  expect(summary.license_seconds).toBe(2 * 4 * 3600 + 3600 + 3600 + 1800);
  expect([summary.unknown_lines, summary.orphan_checkins]).toEqual([0, 0]);
});

it("checkouts that share one license (share_handle) are one session, from the group's first checkout to its last check-in (std and small formats, across a new log file)", async () => {
  // The share_handle names the group's first checkout, or another of its open ones once that has
  // checked in (the RLM manual); a handle not open (99) is a license of its own.
  const at = (time: string) => Date.parse(`2022-06-0${time}Z`);
  for (const file of ["reportlog-synthetic-shared.rl", "reportlog-synthetic-small-shared.rl"]) {
    const { code, lines, summary } = await runParse(["--source", "rlm-reportlog", "--file", join(syntheticFixtures, "rlm", file), "--timezone", "UTC", "--sessions"]);
    expect(code, file).toBe(0);
    const small = file.includes("small");
    const want = [
      ["alice", 1, at("1T09:00:00"), at("1T12:00:00")], // three windows on ws-01 hold one license: 3 h, not 1 h + 1 h 50 + 1 h 30
      ["bob", 1, at("1T09:05:00"), at("1T10:05:00")],
      ["carol", 1, at("1T11:10:00"), at("1T12:30:00")],
      ...(small ? [] : [["dave", 1, at("1T13:00:00"), at("2T02:00:00")]]), // held on by 31 across the new log file (32 not listed by it)
    ];
    expect(lines.map((s) => [s.user, s.count, s.start, s.end]).sort((a, b) => a[2] - b[2]), file).toEqual(want);
    expect(summary.license_seconds, file).toBe(3 * 3600 + 3600 + 4800 + (small ? 0 : 13 * 3600));
    expect([summary.shared_checkouts, summary.unknown_lines, summary.orphan_checkins, summary.zero_length_sessions], file).toEqual([small ? 2 : 4, 0, 0, 0]);
  }
});

it("the share groups of a report log survive a save and restore after any line", () => {
  const lines = readFileSync(join(syntheticFixtures, "rlm/reportlog-synthetic-shared.rl"), "utf8").trimEnd().split("\n");
  const read = (restoreAfter: number) => {
    let source = new RlmReportLogSource({ name: "rlm", timezone: "UTC" });
    const events: SourceEvent[] = [];
    lines.forEach((line, i) => {
      events.push(...source.push(line));
      if (i === restoreAfter) {
        const saved = JSON.parse(JSON.stringify(source.save()));
        source = new RlmReportLogSource({ name: "rlm", timezone: "UTC" });
        source.restore(saved);
      }
    });
    return [...events, ...source.end()];
  };
  const straight = read(-1);
  expect(straight.filter((e) => e.type === "checkout" && e.user === "alice")).toHaveLength(1);
  for (let i = 0; i < lines.length; i++) expect(read(i), `restored after line ${i + 1}`).toEqual(straight);
  // A state saved before share groups were kept restores with none open.
  const before = new RlmReportLogSource({ name: "rlm", timezone: "UTC" });
  for (const line of lines.slice(0, 7)) before.push(line);
  const { shares: _shares, ...old } = before.save() as Record<string, unknown>;
  const after = new RlmReportLogSource({ name: "rlm", timezone: "UTC" });
  after.restore(old);
  expect(lines.slice(7, 10).flatMap((line) => after.push(line)).map((e) => e.type)).toEqual(["checkout", "alive", "alive"]); // bob; 2c joins 2a; 2a leaves, 2c holds on
});

it("a record's fields are what the regex /\"([^\"]*)\"|(\\S+)/g matches, for any line (quotes, unclosed quotes, every kind of space)", () => {
  const regexTokens = (line: string) => [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  const char = fc.constantFrom("a", "Z", "0", ":", "/", ".", '"', '"', " ", " ", "\t", "\v", "\u00a0", "\u2003", "\u3000", "\ufeff", "é", "😀");
  fc.assert(fc.property(fc.array(char, { maxLength: 40 }).map((cs) => cs.join("")), (line) => {
    expect(quotedFields(line)).toEqual(regexTokens(line));
  }), { numRuns: 5000 });
  expect(quotedFields('OUT solver 2.0 1 bob ws-02 "" 1 3 0 1b 0 4f3 "wing design" "solver" "2.0" 03/26 23:50:30.00')).toEqual(
    ["OUT", "solver", "2.0", "1", "bob", "ws-02", "", "1", "3", "0", "1b", "0", "4f3", "wing design", "solver", "2.0", "03/26", "23:50:30.00"]);
});
