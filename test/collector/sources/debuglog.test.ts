// FlexLM debug log: real fixtures parse, counts match an independent grep, sessions are exact.
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlexlmDebugLogSource } from "../../../collector/sources/flexlm-debuglog.ts";
import { SessionTracker } from "../../../collector/sessions/session-tracker.ts";
import type { RecordBody } from "../../../collector/sessions/records.ts";
import { sharedFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

const flexlm = join(sharedFixtures, "flexlm");
const debugLogs = readdirSync(flexlm).filter((f) => f.startsWith("debuglog-") && !f.includes("-synthetic")); // real samples only
const tmp = mkdtempSync(join(tmpdir(), "tally-debuglog-"));

function parseText(text: string, timezone: string, cut_s = 3600) {
  const source = new FlexlmDebugLogSource({ name: "lic", timezone });
  const tracker = new SessionTracker({ source: "lic", cut_s });
  const records: RecordBody[] = [];
  for (const line of text.split(/\r?\n/)) for (const e of source.push(line)) records.push(...tracker.apply(e));
  for (const e of source.end()) records.push(...tracker.apply(e));
  records.push(...tracker.finish());
  return { records, source, tracker };
}

/** Independent count: OUT/DENIED lines, minus Autodesk package lines (the first of a same-second pair). */
function grepCounts(text: string) {
  const lines = text.split(/\r?\n/).map((l) => /^\s*(\d+:\d\d:\d\d) \((\S+)\) (OUT|DENIED): "([^"]+)" (.*@\S+)/.exec(l)).filter((m) => m !== null);
  const out: Record<string, number> = {}, denied: Record<string, number> = {};
  for (let i = 0; i < lines.length; i++) {
    const [, time, daemon, kind, feature, who] = lines[i]!;
    const next = lines[i + 1];
    const isPackage = daemon === "adskflex" && next !== undefined && next[1] === time && next[3] === kind && next[5] === who && next[4] !== feature;
    const target = kind === "OUT" ? out : denied;
    const counted = isPackage ? next[4]! : feature!;
    target[counted] = (target[counted] ?? 0) + 1;
    if (isPackage) i++; // the component line is this same checkout
  }
  return { out, denied };
}

describe("flexlm-debuglog on real logs", () => {
  it.each(debugLogs)("%s parses without a crash and every record is integral", async (file) => {
    const { code, lines, summary } = await runParse(["--source", "flexlm-debuglog", "--file", join(flexlm, file), "--timezone", "Europe/Madrid"]);
    expect(code).toBe(0);
    expect(summary.lines).toBe(readFileSync(join(flexlm, file), "utf8").split("\n").filter((_, i, a) => i < a.length - 1 || a[i] !== "").length);
    for (const r of lines) {
      for (const v of Object.values(r.data)) if (typeof v === "number") expect(Number.isSafeInteger(v)).toBe(true);
      if (r.kind === "usage") {
        expect(r.data.end).toBeGreaterThan(r.data.start);
        expect(r.data.start % 1000).toBe(0);
      }
    }
  });

  it.each(debugLogs)("%s: sessions and denials per feature equal the real OUT/DENIED lines", (file) => {
    const text = readFileSync(join(flexlm, file), "utf8");
    const expected = grepCounts(text);
    const { source, tracker, records } = parseText(text, "Europe/Madrid");
    const sessions: Record<string, Set<string>> = {}, denials: Record<string, number> = {};
    for (const r of records) {
      if (r.kind === "usage") (sessions[r.data.feature] ??= new Set()).add(r.data.session);
      if (r.kind === "denial") denials[r.data.feature] = (denials[r.data.feature] ?? 0) + 1;
    }
    const counted = Object.fromEntries(Object.entries(sessions).map(([f, s]) => [f, s.size]));
    // A checkout and its check-in in the same second holds nothing, nor does a checkout on the
    // log's last second (still open, not yet provably held): no interval, counted apart.
    const zero = tracker.stats().zero_length_sessions + tracker.openSessions().filter((s) => s.emitted === s.start).length;
    const total = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
    expect(total(counted) + zero).toBe(total(expected.out));
    if (zero === 0) expect(counted).toEqual(expected.out);
    expect(denials).toEqual(expected.denied);
    expect(source.stats().undated_lines).toBe(0);
  });
});

describe("flexlm-debuglog rules", () => {
  it("an excerpt of the ImSukh Autodesk log gives the sessions worked out by hand", async () => {
    const excerpt = readFileSync(join(flexlm, "debuglog-imsukh-autodesk.log"), "utf8").split("\n").slice(0, 122).join("\n") + "\n";
    const file = join(tmp, "imsukh-122.log");
    writeFileSync(file, excerpt);
    const { lines, summary } = await runParse(["--source", "flexlm-debuglog", "--file", file, "--timezone", "America/New_York", "--sessions", "--name", "site"]);
    const s = (user: string, host: string, feature: string, start: string, end: string, final: boolean) =>
      ({ source: "site", daemon: "adskflex", feature, user, host, start: Date.parse(start), end: Date.parse(end), count: 1, final });
    const got = lines.map(({ session, ...rest }) => rest).sort((a, b) => a.start - b.start);
    expect(got).toEqual([
      s("JohnDoe", "PC01", "86718CIV3D_2017_0F", "2018-07-27T19:49:22Z", "2018-07-27T23:44:32Z", true),
      s("Giovanni", "LAPTOP01", "86718CIV3D_2017_0F", "2018-07-27T19:49:31Z", "2018-07-27T21:01:18Z", true),
      s("Wittenburg", "ANOTHERPC", "86604ACD_2017_0F", "2018-07-27T19:49:39Z", "2018-07-27T23:45:33Z", false),
      s("Giovanni", "LAPTOP01", "86718CIV3D_2017_0F", "2018-07-27T19:49:47Z", "2018-07-27T21:33:20Z", true),
      s("JohnDoe", "PC01", "86718CIV3D_2017_0F", "2018-07-27T21:45:22Z", "2018-07-27T23:45:33Z", true),
    ]);
    expect(summary.package_lines).toBe(9);
  });

  it("matlab-tail: the shutdown ends every open session at the shutdown time", () => {
    const tail = readFileSync(join(flexlm, "debuglog-joseantoniovilar-matlab-tail.log"), "utf8");
    const ins = [...tail.matchAll(/ IN: "([^"]+)" (.+@\S+)\s+(\(SHUTDOWN\))?/g)];
    // The excerpt starts mid-day: open, at 02:00 that day, one session per check-in it contains,
    // plus one that is never checked in (only lmgrd's EXITING can end it).
    const prefix = [" 2:00:00 (lmgrd) TIMESTAMP 7/7/2022", ...ins.map((m) => ` 2:00:00 (MLM) OUT: "${m[1]}" ${m[2]}  `), ' 2:00:00 (MLM) OUT: "SIMULINK" never checked in@PC-1  '];
    const { records, tracker } = parseText(prefix.join("\n") + "\n" + tail, "Europe/Madrid");
    const finals = records.filter((r) => r.kind === "usage" && r.data.final);
    const shutdownAt = Date.parse("2022-07-07T06:14:44Z");
    const shutdowns = ins.filter((m) => m[3]).length;
    expect(shutdowns).toBe(19);
    expect(finals.filter((r) => r.kind === "usage" && r.data.end === shutdownAt)).toHaveLength(shutdowns + 1);
    expect(finals).toHaveLength(ins.length + 1);
    expect(tracker.openSessions()).toEqual([]);
    expect(tracker.stats().orphan_checkins).toBe(0);
  });

  it("UNSUPPORTED lines are not denials; user names keep spaces and UTF-8", () => {
    const text = [
      "10:00:00 (MLM) TIMESTAMP 3/1/2022",
      '10:25:38 (MLM) UNSUPPORTED: "MATLAB" (BF04C1B183DD400E147F) Javier@DESKTOP-PV69PK5  (No such feature exists. (-5,346))',
      '10:28:49 (MLM) OUT: "MATLAB" José Juan Galera@Plasmon  ',
      '10:29:49 (MLM) IN: "MATLAB" José Juan Galera@Plasmon  ',
    ].join("\r\n");
    const { records, source } = parseText("\ufeff" + text, "UTC");
    expect(records.map((r) => r.kind)).toEqual(["usage"]);
    expect(records[0]!.data).toMatchObject({ user: "José Juan Galera", host: "Plasmon", start: Date.parse("2022-03-01T10:28:49Z"), end: Date.parse("2022-03-01T10:29:49Z") });
    expect(source.stats().ignored_lines).toBe(1);
  });

  it("midnight roll-over: a clock that goes back means the next day; padded and unpadded hours read alike", () => {
    const text = [
      "23:00:00 (MLM) TIMESTAMP 12/31/2021",
      '23:59:00 (MLM) OUT: "MATLAB" ann@pc1  (2 licenses)',
      ' 0:00:30 (lmgrd) something',
      '23:59:59 (MLM) OUT: "MATLAB" bob@pc2  ',
      '00:10:00 (MLM) IN: "MATLAB" ann@pc1  (2 licenses)',
      '1:10:00 (MLM) IN: "MATLAB" bob@pc2  ',
    ].join("\n");
    const { records } = parseText(text, "UTC");
    const u = records.filter((r) => r.kind === "usage").map((r) => [r.data.user, r.data.start, r.data.end, r.data.count, r.data.final]);
    expect(u).toEqual([
      ["ann", Date.parse("2021-12-31T23:59:00Z"), Date.parse("2022-01-01T00:00:00Z"), 2, false],
      ["ann", Date.parse("2022-01-01T00:00:00Z"), Date.parse("2022-01-01T00:10:00Z"), 2, true],
      ["bob", Date.parse("2021-12-31T23:59:59Z"), Date.parse("2022-01-01T00:00:00Z"), 1, false],
      ["bob", Date.parse("2022-01-01T00:00:00Z"), Date.parse("2022-01-01T01:00:00Z"), 1, false],
      ["bob", Date.parse("2022-01-01T01:00:00Z"), Date.parse("2022-01-01T01:10:00Z"), 1, true],
    ].sort((a, b) => (a[0] === b[0] ? (a[1] as number) - (b[1] as number) : 0)));
  });

  it("Europe/Madrid across the March DST change gives the right UTC", () => {
    const text = [
      " 1:00:00 (MLM) TIMESTAMP 3/27/2022",
      ' 1:30:00 (MLM) OUT: "MATLAB" ann@pc1  ', // CET, UTC+1
      ' 3:30:00 (MLM) IN: "MATLAB" ann@pc1  ', // CEST, UTC+2: one hour later, not two
    ].join("\n");
    const { records } = parseText(text, "Europe/Madrid");
    const usage = records.filter((r) => r.kind === "usage").map((r) => [r.data.start, r.data.end]);
    expect(usage).toEqual([[Date.parse("2022-03-27T00:30:00Z"), Date.parse("2022-03-27T01:00:00Z")], [Date.parse("2022-03-27T01:00:00Z"), Date.parse("2022-03-27T01:30:00Z")]]);
  });

  it("lines before the first date are dated backwards from it; without any date they are dropped and counted", () => {
    const lines = ['23:50:00 (MLM) OUT: "MATLAB" ann@pc1  ', ' 0:20:00 (MLM) IN: "MATLAB" ann@pc1  ', " 1:00:00 (MLM) TIMESTAMP 5/2/2022"];
    const dated = parseText(lines.join("\n"), "UTC");
    expect(dated.records.map((r) => r.kind === "usage" && [r.data.start, r.data.end])).toEqual([
      [Date.parse("2022-05-01T23:50:00Z"), Date.parse("2022-05-02T00:00:00Z")], [Date.parse("2022-05-02T00:00:00Z"), Date.parse("2022-05-02T00:20:00Z")]]);
    const undated = parseText(lines.slice(0, 2).join("\n"), "UTC");
    expect(undated.records).toEqual([]);
    expect(undated.source.stats().undated_lines).toBe(2);
  });

  it("a restart ends open sessions at the daemon's last line, never at the restart", () => {
    const text = [
      " 9:00:00 (lmgrd) TIMESTAMP 5/2/2022",
      ' 9:10:00 (MLM) OUT: "MATLAB" ann@pc1  ',
      " 9:20:00 (MLM) TIMESTAMP 5/2/2022",
      "11:00:00 (lmgrd) FlexNet Licensing (v11.18.0.0 build 1) started on flexlm01 (IBM PC) (5/2/2022)",
      ' 11:05:00 (MLM) IN: "MATLAB" ann@pc1  ',
    ].join("\n");
    const { records, tracker } = parseText(text, "UTC");
    expect(records.map((r) => r.kind === "usage" && [r.data.start, r.data.end, r.data.final])).toEqual([[Date.parse("2022-05-02T09:10:00Z"), Date.parse("2022-05-02T09:20:00Z"), true]]);
    expect(tracker.stats().orphan_checkins).toBe(1);
  });

  it("package_features hides the named package and keeps its component", () => {
    const text = [" 9:00:00 (lmgrd) TIMESTAMP 5/2/2022", ' 9:10:00 (MLM) OUT: "SUITE" ann@pc1  ', ' 9:10:05 (MLM) OUT: "PART" ann@pc1  ', ' 9:30:00 (MLM) IN: "SUITE" ann@pc1  ', ' 9:30:00 (MLM) IN: "PART" ann@pc1  '].join("\n");
    const source = new FlexlmDebugLogSource({ name: "lic", timezone: "UTC", package_features: ["SUITE"] });
    const events = text.split("\n").flatMap((l) => source.push(l)).filter((e) => e.type === "checkout" || e.type === "checkin");
    expect(events.map((e) => e.type === "checkout" || e.type === "checkin" ? `${e.type} ${e.feature}` : "")).toEqual(["checkout PART", "checkin PART"]);
  });

  it("unknown lines are counted and sampled, never fatal", () => {
    const { source } = parseText(["garbage", "12:00:00 (MLM) OUT: no at sign", "\u0000\u0001"].join("\n"), "UTC");
    expect(source.stats().unknown_lines).toBe(3);
    expect(source.stats().unknown_samples).toEqual(["garbage", "12:00:00 (MLM) OUT: no at sign", "\u0000\u0001"]);
  });
});
