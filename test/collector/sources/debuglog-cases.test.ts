// FlexLM debug logs nobody here had seen, one case each, on small hand-written (synthetic) files
// in test/fixtures/flexlm: token pools, DST fall-back (also at the start of a log, before any date),
// a clock set back at mid-day, `-datestamp` and verbose lines, forked vendor daemons, a shutdown of
// two vendors, a vendor restarted by a Unix lmgrd, a check-in printed just before the line above it,
// usage lines that cannot be read, a usage suffix wrapped onto the next line, a checkout upgraded to
// more licenses.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlexlmDebugLogSource } from "../../../collector/sources/flexlm-debuglog.ts";
import type { SourceEvent } from "../../../collector/sources/events.ts";
import { syntheticFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

const fixture = (name: string) => join(syntheticFixtures, "flexlm", name);
const at = (iso: string) => Date.parse(iso);

/** `parse --sessions` on a fixture: the sessions without their ids, by start, and the summary. */
async function sessionsOf(name: string, timezone: string) {
  const r = await runParse(["--source", "flexlm-debuglog", "--file", fixture(name), "--timezone", timezone, "--sessions", "--name", "lic"]);
  expect(r.code).toBe(0);
  const sessions = r.lines.map(({ session, source, ...s }) => s).sort((a, b) => a.start - b.start || (a.user < b.user ? -1 : 1));
  return { sessions, summary: r.summary };
}

describe("flexlm-debuglog cases (synthetic fixtures)", () => {
  it("token pools: the product comes from [POOL:PRODUCT], pairs IN with OUT, and is summed apart", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-msc-pools.log", "UTC");
    const pool = { daemon: "MSC", feature: "MSCONE", final: true };
    expect(sessions).toEqual([
      { ...pool, product: "ODYSSEE_CAE", user: "ana", host: "ws-07", count: 5, start: at("2024-03-08T09:00:00Z"), end: at("2024-03-08T10:30:00Z") },
      { ...pool, product: "ADAMS_View", user: "ana", host: "ws-07", count: 5, start: at("2024-03-08T09:10:00Z"), end: at("2024-03-08T09:40:00Z") },
      { ...pool, product: "Nastran", user: "José Juan Galera", host: "Plasmon", count: 12, start: at("2024-03-08T10:31:00Z"), end: at("2024-03-08T11:31:00Z") },
    ]);
    expect(summary.by_product).toEqual({
      ODYSSEE_CAE: { sessions: 1, license_seconds: 5 * 5400 }, ADAMS_View: { sessions: 1, license_seconds: 5 * 1800 }, Nastran: { sessions: 1, license_seconds: 12 * 3600 },
    });
    expect(summary.by_feature).toEqual({ MSCONE: { sessions: 3, license_seconds: 79_200, denials: 1 } });
    // The records themselves carry it, as an optional field in the protocol's place.
    const records = await runParse(["--source", "flexlm-debuglog", "--file", fixture("debuglog-synthetic-msc-pools.log"), "--timezone", "UTC"]);
    expect(Object.keys(records.lines[0].data)).toEqual(["source", "daemon", "feature", "product", "user", "host", "session", "start", "end", "count", "final"]);
  });

  it("DST fall-back: a step back inside the repeated hour is its second pass", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-dst-fallback.log", "Europe/Madrid");
    const s = (feature: string, user: string, host: string, start: string, end: string) => ({ daemon: "MLM", feature, user, host, count: 1, start: at(start), end: at(end), final: true });
    expect(sessions).toEqual([
      s("MATLAB", "ann", "pc1", "2019-10-26T23:30:00Z", "2019-10-27T02:00:00Z"),
      s("SIMULINK", "bob", "pc2", "2019-10-27T00:10:00Z", "2019-10-27T01:20:00Z"), // 02:10 CEST → 02:20 CET: 70 min, not 10
      s("Statistics_Toolbox", "carol", "pc3", "2019-10-27T00:55:00Z", "2019-10-27T01:05:00Z"), // IN printed before its OUT: 10 min, not dropped
    ]);
    expect(summary.zero_length_sessions).toBe(0);
    expect(summary.clock_steps).toBe(0);
  });

  it("a log that starts inside the repeated hour, before any date: the lines after it tell the pass", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-undated-dst-start.log", "Europe/Madrid");
    const s = (feature: string, user: string, host: string, start: string, end: string) => ({ daemon: "MLM", feature, user, host, count: 1, start: at(start), end: at(end), final: true });
    // 2:05 … 2:40 then 3:07 seven minutes on: the second pass (CET). Read in the first pass (CEST),
    // as a line with nothing before it is, bob would be billed 1 h 50 min, not 50.
    expect(sessions).toEqual([
      s("MATLAB", "ann", "pc1", "2019-10-27T01:05:00Z", "2019-10-27T01:40:00Z"),
      s("SIMULINK", "bob", "pc2", "2019-10-27T01:17:00Z", "2019-10-27T02:07:00Z"),
    ]);
    expect(summary.undated_lines).toBe(0);
    expect(summary.by_feature.SIMULINK).toEqual({ sessions: 1, license_seconds: 50 * 60, denials: 1 });
  });

  it("… and one that starts in the first pass is read there: the step back to 2:05 says so", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "tally-dst-")), "first-pass.log");
    const lines = readFileSync(fixture("debuglog-synthetic-undated-dst-start.log"), "utf8").split("\n");
    writeFileSync(log, [' 2:50:00 (MLM) OUT: "Statistics_Toolbox" dan@pc4', ...lines.slice(0, 3), ' 2:33:00 (MLM) IN: "Statistics_Toolbox" dan@pc4', ...lines.slice(3)].join("\n"));
    const { lines: got, summary } = await runParse(["--source", "flexlm-debuglog", "--file", log, "--timezone", "Europe/Madrid", "--sessions"]);
    expect(got.map((s) => [s.user, s.start, s.end])).toEqual([
      ["dan", at("2019-10-27T00:50:00Z"), at("2019-10-27T01:33:00Z")], // 2:50 CEST → 2:33 CET: 43 min
      ["ann", at("2019-10-27T01:05:00Z"), at("2019-10-27T01:40:00Z")],
      ["bob", at("2019-10-27T01:17:00Z"), at("2019-10-27T02:07:00Z")],
    ]);
    expect(summary.clock_steps).toBe(0);
  });

  it("… and so is one whose first date comes inside the hour: the lines wait for one outside it", async () => {
    const lines = readFileSync(fixture("debuglog-synthetic-undated-dst-start.log"), "utf8").trimEnd().split("\n");
    const stamp = " 2:10:00 (MLM) TIMESTAMP 10/27/2019";
    const dir = mkdtempSync(join(tmpdir(), "tally-dst-"));
    const variants = { "after its first line": [lines[0]!, stamp, ...lines.slice(1)], "as its first line": [stamp, ...lines] };
    for (const [name, text] of Object.entries(variants)) {
      writeFileSync(join(dir, "in-hour.log"), text.join("\n") + "\n");
      const { lines: got, summary } = await runParse(["--source", "flexlm-debuglog", "--file", join(dir, "in-hour.log"), "--timezone", "Europe/Madrid", "--sessions"]);
      expect(got.map((s) => [s.user, s.start, s.end]), name).toEqual([
        ["ann", at("2019-10-27T01:05:00Z"), at("2019-10-27T01:40:00Z")],
        ["bob", at("2019-10-27T01:17:00Z"), at("2019-10-27T02:07:00Z")], // 50 min, not 1 h 50
      ]);
      expect(summary.undated_lines, name).toBe(0);
    }
    // A log that ends inside the hour: nothing told the pass, so the first (as for a line with nothing before it); nothing dropped.
    writeFileSync(join(dir, "in-hour.log"), [stamp, ' 2:15:00 (MLM) OUT: "MATLAB" ann@pc1', ' 2:40:00 (MLM) IN: "MATLAB" ann@pc1', ' 2:45:00 (MLM) OUT: "SIMULINK" bob@pc2', " 2:50:00 (MLM) TCP_NODELAY NOT enabled"].join("\n") + "\n");
    const { lines: got, summary } = await runParse(["--source", "flexlm-debuglog", "--file", join(dir, "in-hour.log"), "--timezone", "Europe/Madrid", "--sessions"]);
    expect(got.map((s) => [s.user, s.start, s.end, s.final])).toEqual([
      ["ann", at("2019-10-27T00:15:00Z"), at("2019-10-27T00:40:00Z"), true],
      ["bob", at("2019-10-27T00:45:00Z"), at("2019-10-27T00:50:00Z"), false],
    ]);
    expect(summary.undated_lines).toBe(0);
  });

  it("a check-in printed a few seconds before the line above it (forked daemons interleave) still ends its session there, in a final record", async () => {
    const { sessions } = await sessionsOf("debuglog-synthetic-late-checkin.log", "UTC");
    const s = (feature: string, user: string, host: string, start: string, end: string, final = true) => ({ daemon: "MLM", feature, user, host, count: 1, start: at(start), end: at(end), final });
    expect(sessions).toEqual([
      s("MATLAB", "ann", "pc1", "2022-05-02T09:10:00Z", "2022-05-02T09:59:54Z"), // not cut at 10:00 (the hour after 10:00:04) and left open
      s("SIMULINK", "bob", "pc2", "2022-05-02T10:00:04Z", "2022-05-02T10:30:00Z"),
      s("MATLAB", "carol", "pc3", "2022-05-02T10:45:00Z", "2022-05-02T10:50:30Z", false), // open at the end: up to the latest line of MLM, not the last
    ]);
    // The same in 5-minute records, as `run` cuts them.
    const r = await runParse(["--source", "flexlm-debuglog", "--file", fixture("debuglog-synthetic-late-checkin.log"), "--timezone", "UTC", "--cut", "300"]);
    const ann = r.lines.filter((l) => l.data.user === "ann").map((l) => [l.data.start, l.data.end, l.data.final]);
    expect(ann.at(-1)).toEqual([at("2022-05-02T09:55:00Z"), at("2022-05-02T09:59:54Z"), true]);
    expect(ann.reduce((a, [start, end]) => a + end - start, 0)).toBe(49 * 60_000 + 54_000);
  });

  it("a clock set back at mid-day is a clock step, not a day: nothing billed beyond what provably passed", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-clock-step.log", "UTC");
    const s = (feature: string, user: string, host: string, start: string, end: string) => ({ daemon: "MLM", feature, user, host, count: 1, start: at(start), end: at(end), final: true });
    // 13:00 → 11:30: later times are read 1.5 h on, so the timeline goes on from 13:00.
    expect(sessions).toEqual([
      s("MATLAB", "ann", "pc1", "2022-05-02T12:30:00Z", "2022-05-02T13:10:00Z"), // 30 min before the step, 10 after — not 23 h 10
      s("SIMULINK", "bob", "pc2", "2022-05-02T12:50:00Z", "2022-05-03T02:00:00Z"),
      s("MATLAB", "carol", "pc3", "2022-05-02T13:40:00Z", "2022-05-02T15:40:00Z"),
      s("MATLAB", "dan", "pc4", "2022-05-02T23:30:00Z", "2022-05-03T01:50:00Z"), // across midnight without a TIMESTAMP
    ]);
    expect(summary.clock_steps).toBe(1);
    expect(summary.license_seconds).toBe((40 + 13 * 60 + 10 + 120 + 140) * 60);
  });

  it("the same step with no date after it is still read as a step (the reading that bills less)", async () => {
    const cut = join(mkdtempSync(join(tmpdir(), "tally-step-")), "step.log");
    writeFileSync(cut, readFileSync(fixture("debuglog-synthetic-clock-step.log"), "utf8").split("\n").slice(0, 8).join("\n") + "\n");
    const { lines, summary } = await runParse(["--source", "flexlm-debuglog", "--file", cut, "--timezone", "UTC", "--sessions"]);
    expect(lines.map((s) => [s.user, s.start, s.end, s.final])).toEqual([
      ["ann", at("2022-05-02T12:30:00Z"), at("2022-05-02T13:10:00Z"), true],
      ["bob", at("2022-05-02T12:50:00Z"), at("2022-05-02T13:40:00Z"), false], // still open: up to the last line, 12:10 read as 13:40
    ]);
    expect(summary.clock_steps).toBe(1);
  });

  it("a log that ends on a step back: sessions open across it end at the last line before it, none before its start", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-clock-step-at-end.log", "UTC");
    const s = (feature: string, user: string, host: string, start: string, final: boolean) => ({ daemon: "MLM", feature, user, host, count: 1, start: at(start), end: at("2022-05-02T21:28:00Z"), final });
    // 21:28 → 21:09 with no date after it: the IN is read at 21:28, the last line written before the
    // step (the session provably lasted that long). Read at its printed 21:09, bob's and carol's
    // sessions would end before they started and be lost.
    expect(sessions).toEqual([
      s("MATLAB", "ann", "pc1", "2022-05-02T20:30:00Z", true),
      s("MATLAB", "bob", "pc2", "2022-05-02T21:12:00Z", false),
      s("SIMULINK", "carol", "pc3", "2022-05-02T21:25:00Z", false),
    ]);
    expect(summary.clock_steps).toBe(1);
    expect(summary.license_seconds).toBe((58 + 16 + 3) * 60);
  });

  it("-datestamp envelopes and verbose lines are date anchors; verbose handles pair IN with OUT", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-datestamp-verbose.log", "Europe/Madrid");
    expect(sessions).toEqual([
      { daemon: "MLM", feature: "MATLAB", user: "ann", host: "pc1", count: 1, start: at("2024-03-30T22:55:00Z"), end: at("2024-03-31T01:10:00Z"), final: true },
      { daemon: "MLM", feature: "SIMULINK", user: "bob smith", host: "pc2", count: 2, start: at("2024-03-31T01:20:00Z"), end: at("2024-03-31T03:25:00Z"), final: true },
      { daemon: "MLM", feature: "SIMULINK", user: "bob smith", host: "pc2", count: 2, start: at("2024-03-31T01:25:00Z"), end: at("2024-03-31T02:25:00Z"), final: true },
    ]);
    expect(summary.unknown_lines).toBe(0);
    expect(summary.undated_lines).toBe(0);
  });

  it("forked vendor_N daemons are their vendor: they pair with its lines and end at its restart", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-forked.log", "UTC");
    expect(sessions).toEqual([
      { daemon: "MLM", feature: "MATLAB", user: "ann", host: "pc1", count: 1, start: at("2022-05-02T09:10:00Z"), end: at("2022-05-02T09:20:00Z"), final: true },
      // MLM restarted at 10:00: bob's checkout (via MLM_3) ends at MLM_3's last line, 9:40.
      { daemon: "MLM", feature: "MATLAB", user: "bob", host: "pc2", count: 1, start: at("2022-05-02T09:30:00Z"), end: at("2022-05-02T09:40:00Z"), final: true },
    ]);
    expect(summary.orphan_checkins).toBe(1);
  });

  it("lmgrd's EXITING waits for every vendor's shutdown: a second vendor's `Shutdown requested.` after it does not end its sessions early", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-shutdown-two-vendors.log", "UTC");
    expect(sessions).toEqual([
      { daemon: "adskflex", feature: "87537INVPROSA_2022_0F", user: "dan", host: "pc4", count: 1, start: at("2024-03-04T09:00:00Z"), end: at("2024-03-04T10:06:00Z"), final: true }, // ended at 9:00 (its daemon's last line before EXITING): lost
      { daemon: "MLM", feature: "MATLAB", user: "carl", host: "pc3", count: 1, start: at("2024-03-04T10:05:00Z"), end: at("2024-03-04T10:06:00Z"), final: true },
    ]);
    expect([summary.orphan_checkins, summary.zero_length_sessions]).toEqual([0, 0]);
  });

  it("a vendor restarted by a Unix lmgrd (`Started ansyslmd (internet tcp_port P pid N)`) ends its sessions at its last line before the crash", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-vendor-restart-unix.log", "America/Detroit");
    const s = (feature: string, user: string, host: string, count: number, start: string, end: string) => ({ daemon: "ansyslmd", feature, user, host, count, start: at(start), end: at(end), final: true });
    expect(sessions).toEqual([
      s("hfsshpc", "nchiot", "nyx7007", 30, "2017-06-08T13:50:14Z", "2017-06-08T14:00:00Z"), // not 18:00, when the new daemon's first lines proved it running again
      s("aa_r", "bob", "pc2", 1, "2017-06-08T18:10:00Z", "2017-06-08T18:20:00Z"),
    ]);
    expect(summary.zero_length_sessions).toBe(1); // bob's checkout at the crash: nothing proves it held after
  });

  it("lmgrd's automatic restart of a crashed vendor (`REStarted VENDOR (internet tcp_port P pid N)`) is a vendor restart too", async () => {
    // lmgrd's own words after a vendor daemon died with a status it does not know (as real ABAQUSLM and covlicd logs show).
    const text = readFileSync(fixture("debuglog-synthetic-vendor-restart-unix.log"), "utf8").replace(
      "14:00:00 (lmgrd) Started ansyslmd",
      "14:00:00 (lmgrd) Since this is an unknown status, license server \n14:00:00 (lmgrd) manager (lmgrd) will attempt to re-start the vendor daemon.\n14:00:00 (lmgrd) REStarted ansyslmd",
    );
    const file = join(mkdtempSync(join(tmpdir(), "tally-restarted-")), "lmgrd.log");
    writeFileSync(file, text);
    const r = await runParse(["--source", "flexlm-debuglog", "--file", file, "--timezone", "America/Detroit", "--sessions", "--name", "lic"]);
    expect(r.code).toBe(0);
    const held = r.lines.find((l) => l.feature === "hfsshpc")!;
    expect([held.start, held.end]).toEqual([at("2017-06-08T13:50:14Z"), at("2017-06-08T14:00:00Z")]); // not 18:00Z
  });

  it("usage lines that cannot be read are counted as unknown with a sample, never dropped silently", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-unreadable.log", "UTC");
    expect(sessions).toHaveLength(1);
    expect(summary.unknown_lines).toBe(4);
    expect(summary.unknown_samples).toEqual([
      ' 9:11:00 (MLM) OUT: "MATLAB" no-at-sign-here', ' 9:12:00 (MLM) IN: "MATLAB" ann@', 'OUT: "MATLAB" bob@pc2', ' 9:13:00 (MLM) OUT "MATLAB" bob@pc2',
    ]);
  });

  it("a usage suffix wrapped onto the next line (DOORS's telelogic: `[DOORS]` then `(3 licenses)`) is the line's count, or its denial's reason", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-wrapped-suffix.log", "America/Los_Angeles");
    const s = (feature: string, user: string, host: string, count: number, start: string, end: string) => ({ daemon: "telelogic", feature, user, host, count, start: at(start), end: at(end), final: true });
    expect(sessions).toEqual([
      s("TLSTOK-token", "ann", "PC-ANN", 3, "2024-03-18T16:58:02Z", "2024-03-18T18:58:02Z"), // before the first date: held, then dated
      s("TLSTOK-token", "indkach", "indkach", 3, "2024-03-18T17:05:10Z", "2024-03-18T17:45:00Z"),
      s("DOORS", "bob", "PC-BOB", 1, "2024-03-18T17:20:00Z", "2024-03-18T18:00:00Z"), // ends on `]`, nothing wrapped
    ]);
    expect(summary.by_feature["TLSTOK-token"].license_seconds).toBe(3 * 7200 + 3 * 2390); // read as two lines each: a third
    expect(summary.unknown_lines).toBe(0);
    const records = await runParse(["--source", "flexlm-debuglog", "--file", fixture("debuglog-synthetic-wrapped-suffix.log"), "--timezone", "America/Los_Angeles"]);
    expect(records.lines.find((l) => l.kind === "denial").data.reason).toBe("Licensed number of users already reached. (-4,342:10054 )");
  });

  it("… and a parser saved between the line and its wrapped suffix, dated or still held, reads it on restore", () => {
    const lines = readFileSync(fixture("debuglog-synthetic-wrapped-suffix.log"), "utf8").trimEnd().split("\n");
    for (const cut of [1, 7]) { // after ann's undated OUT, after indkach's dated one
      let source = new FlexlmDebugLogSource({ name: "lic", timezone: "America/Los_Angeles" });
      const events: SourceEvent[] = [];
      lines.forEach((line, i) => {
        if (i === cut) {
          const saved = JSON.parse(JSON.stringify(source.save())) as unknown;
          source = new FlexlmDebugLogSource({ name: "lic", timezone: "America/Los_Angeles" });
          source.restore(saved);
        }
        events.push(...source.push(line));
      });
      events.push(...source.end());
      const counts = events.flatMap((e) => (e.type === "checkout" || e.type === "checkin" ? [`${e.type} ${e.user} ${e.count}`] : []));
      expect(counts).toEqual(["checkout ann 3", "checkout indkach 3", "checkout bob 1", "checkin indkach 3", "checkin bob 1", "checkin ann 3"]);
      expect(source.stats().unknown_lines).toBe(0);
    }
  });
  it("an UPGRADE line (`(4->8 licenses)`): the checkout holds the old count up to it and the new one after, to its IN", async () => {
    const { sessions, summary } = await sessionsOf("debuglog-synthetic-upgrade.log", "UTC");
    const s = (feature: string, user: string, host: string, count: number, start: string, end: string) => ({ daemon: "acmesolv", feature, user, host, count, start: at(start), end: at(end), final: true });
    expect(sessions).toEqual([
      s("solver_par", "rvalen", "node17", 4, "2025-03-12T09:00:10Z", "2025-03-12T09:30:10Z"),
      s("solver_pro", "jokafor", "ws-east-2", 1, "2025-03-12T09:15:00Z", "2025-03-12T09:45:00Z"),
      s("solver_par", "rvalen", "node17", 8, "2025-03-12T09:30:10Z", "2025-03-12T10:30:10Z"),
      s("solver_pro", "jokafor", "ws-east-2", 3, "2025-03-12T09:45:00Z", "2025-03-12T11:15:00Z"),
      s("solver_par", "mbrandt", "node03", 2, "2025-03-12T11:20:00Z", "2025-03-12T12:20:00Z"),
    ]);
    // Read as ignored lines, the upgrades billed 36,000 license-seconds: 4 and 1 licenses to the IN.
    expect(summary.by_feature).toEqual({
      solver_par: { sessions: 3, license_seconds: 4 * 1800 + 8 * 3600 + 2 * 3600, denials: 0 },
      solver_pro: { sessions: 2, license_seconds: 1 * 1800 + 3 * 5400, denials: 0 },
    });
    expect(summary.ignored_lines).toBe(0);
    expect(summary.orphan_checkins).toBe(0);
  });

  it("… and an upgrade read before the log's first date is held with its checkout, then dated", () => {
    const lines = readFileSync(fixture("debuglog-synthetic-upgrade.log"), "utf8").trimEnd().split("\n").slice(1);
    const source = new FlexlmDebugLogSource({ name: "lic", timezone: "UTC" });
    const events = [...lines, "12:30:00 (lmgrd) TIMESTAMP 3/12/2025"].flatMap((line) => source.push(line));
    events.push(...source.end());
    const usage = events.flatMap((e) => (e.type === "checkout" || e.type === "checkin" ? [`${e.type} ${e.user} ${e.count} ${new Date(e.at).toISOString().slice(11, 19)}`] : []));
    expect(usage.slice(0, 6)).toEqual([
      "checkout rvalen 4 09:00:10", "checkout jokafor 1 09:15:00", "checkin rvalen 4 09:30:10", "checkout rvalen 8 09:30:10", "checkin jokafor 1 09:45:00", "checkout jokafor 3 09:45:00",
    ]);
  });
});
