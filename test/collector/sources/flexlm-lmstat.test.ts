import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FlexlmLmstatSource } from "../../../collector/sources/flexlm-lmstat.ts";
import { parseUserLine } from "../../../collector/sources/flexlm-lmstat-line.ts";
import { SnapshotDiff } from "../../../collector/sources/snapshot-diff.ts";
import { resolveYear } from "../../../collector/sources/snapshot-year.ts";
import { SHARED_FIXTURES, holdersOf, local, mismatches, rows, shared } from "./snapshot-fixtures.ts";

const TAKEN = Date.UTC(2030, 0, 1);
const source = (timezone = "UTC") => new FlexlmLmstatSource({ name: "lmstat", timezone });
const lmstatFiles = readdirSync(SHARED_FIXTURES + "flexlm").filter((f) => f.startsWith("lmstat") && !f.includes("-synthetic")); // real samples only

// Where a file's own totals and its user lines disagree, the reason (SOURCES.md or reading the file).
// Derived = licenses held by user lines + RESERVATIONs (FlexLM counts reservations as in use: app1
// feature30 shows only reservations, 169, and states 169 in use).
const DOCUMENTED: Record<string, Record<string, { stated?: number; derived: number }>> = {
  // SOURCES.md: "Upstream author shortened the user list (7 in use, 2 shown)".
  "lmstat-amberdante-multiserver.txt": { "86815AECCOL_T_F": { stated: 7, derived: 2 } },
  "lmstat-mjtrangoni-app1.txt": {
    // Two `RESERVATION(s) for HOST` lines (1 + 10) were added upstream; the total counts only the GROUP ones.
    feature1: { stated: 1206, derived: 1217 },
    // Three lines with spaced user names were added upstream (their weekdays fit other years).
    feature100: { stated: 2, derived: 4 },
    // Two linger lines from another daemon port (28000, one shared handle, 1 + 16) were added upstream.
    feature31: { stated: 299, derived: 316 },
    // user11's 12-license line (as under feature1) was replaced upstream by two no-display lines of 13.
    feature34: { stated: 1076, derived: 1090 },
  },
  // `(Uncounted, node-locked)` states no total; one user line holds it.
  "lmstat-mjtrangoni-app4.txt": { SERIAL: { derived: 1 } },
  // The user lists are shorter than the totals (upstream-edited, anonymised user1…userN).
  "lmstat-mjtrangoni-app5.txt": {
    MATLAB: { stated: 61, derived: 37 }, SIMULINK: { stated: 10, derived: 5 }, Distrib_Computing_Toolbox: { stated: 4, derived: 2 },
  },
  // The upstream file ends right after feature2's sub-block header: no user lines survive.
  "lmstat-mjtrangoni-server-down.txt": { feature2: { stated: 39, derived: 0 } },
  // An upstream test literal: three of the 67 and three of the 69 user lines were kept.
  "lmstat-glaysia-ansys2025-pid.txt": { elec_solve_level1: { stated: 67, derived: 3 }, elec_solve_level2: { stated: 69, derived: 3 } },
};
const NO_USAGE = ["lmstat-i-mjtrangoni-1.txt", "lmstat-i-mjtrangoni-2.txt", "lmstat-vd-amberdante.txt", "lmstat-mjtrangoni-server-up-win.txt"];

describe("flexlm-lmstat: every real fixture", () => {
  it.each(lmstatFiles)("%s parses without a crash and without unknown lines outside upstream '...' elisions", (file) => {
    const r = source().parse(shared("flexlm/" + file), TAKEN);
    const unknown = r.stats.unknown_samples.filter((l) => l !== "...");
    expect(unknown).toEqual([]);
  });

  it.each(lmstatFiles.filter((f) => !NO_USAGE.includes(f) && !f.includes("error")))(
    "%s: licenses in use derived from user lines equal the stated totals, except documented upstream edits",
    (file) => {
      const r = source().parse(shared("flexlm/" + file), TAKEN);
      expect(r.events.map((e) => e.type)).toEqual(["snapshot"]);
      expect(mismatches(r, true)).toEqual(DOCUMENTED[file] ?? {});
    },
  );

  it.each(NO_USAGE)("%s says nothing about usage: no event at all (not an empty snapshot)", (file) => {
    const r = source().parse(shared("flexlm/" + file), TAKEN);
    expect(r.events).toEqual([]);
  });

  it("`Error getting status` is a server_down at the poll time, never an empty snapshot", () => {
    const r = source().parse(shared("flexlm/lmstat-omnivector-error-getting-status.txt"), TAKEN + 999);
    expect(r.events).toEqual([{ type: "server_down", at: TAKEN, reason: 'Error getting status: Cannot connect to license server (-15,570:111 "Connection refused")' }]);
    expect(r.stated_at).toBe(Date.UTC(2021, 2, 31, 9, 12));
  });

  it("`lmgrd is not running: …` (lmstat's line for a license file whose lmgrd did not answer) is a server_down, not an unknown line and no event", () => {
    const r = source().parse(local("flexlm/lmstat-synthetic-lmgrd-not-running.txt"), TAKEN);
    expect(r.events).toEqual([{ type: "server_down", at: TAKEN, reason: 'lmgrd is not running: License server machine is down or not responding. (-96,7:2 "No such file or directory")' }]);
    expect(r.stats.unknown_lines).toBe(0); // nor the build-tagged `lmutil-l34815 - Copyright` line
  });

  it("one triad member that cannot be reached is not a server_down: the quorum still answers", () => {
    const r = source().parse(shared("flexlm/lmstat-mjtrangoni-server-down.txt"), TAKEN);
    expect(r.events).toEqual([{ type: "snapshot", at: TAKEN, holders: [] }]);
  });
});

describe("flexlm-lmstat: holders written out by hand", () => {
  it("app7 (Synopsys, Europe/Berlin): extra display token, no-display lines, PID suffix, CEST → UTC", () => {
    const r = source("Europe/Berlin").parse(shared("flexlm/lmstat-mjtrangoni-app7.txt"), Date.UTC(2026, 8, 25, 10, 15));
    expect(r.stated_at).toBe(Date.parse("2026-09-25T10:15:00Z"));
    const d = { daemon: "snpslmd", count: 1 };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, feature: "DC-Expert", version: "2026.03", user: "user1", host: "host-01", handle: "SERVER1/27020 24464", start: "2026-09-24T20:16:00.000Z" },
      { ...d, feature: "TCM-1-Apex-Pkg", version: "2026.03", user: "user2", host: "host-01", handle: "SERVER1/27020 19210", start: "2026-09-25T09:44:00.000Z" },
      { ...d, feature: "TCM-1-Apex-Pkg", version: "2026.03", user: "user2", host: "host-01", handle: "SERVER1/27020 31793", start: "2026-09-25T10:11:00.000Z" },
      { ...d, feature: "refocus", version: "1.0", user: "user2", host: "host-01", handle: "SERVER1/27020 60604", start: "2026-09-25T09:44:00.000Z" },
      { ...d, feature: "refocus", version: "1.0", user: "user2", host: "host-01", handle: "SERVER1/27020 43909", start: "2026-09-25T10:11:00.000Z" },
    ]);
  });

  it("ANSYS 2025 (glaysia): a client's number after the display is an extra token, not the display (the user is not `root nib110.hpc`)", () => {
    const r = source().parse(shared("flexlm/lmstat-glaysia-ansys2025-pid.txt"), Date.UTC(2026, 3, 6, 20, 5));
    const d = { daemon: "", version: "", count: 1 };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, feature: "elec_solve_level1", user: "root", host: "nib110.hpc", handle: "license-server/1055 6785", start: "2026-04-06T19:59:00.000Z" },
      { ...d, feature: "elec_solve_level1", user: "root", host: "nib110.hpc", handle: "license-server/1055 18420", start: "2026-04-06T20:00:00.000Z" },
      { ...d, feature: "elec_solve_level1", user: "harry", host: "harrypc", handle: "license-server/1055 20301", start: "2026-04-06T19:42:00.000Z" },
      { ...d, feature: "elec_solve_level2", user: "root", host: "nib116.hpc", handle: "license-server/1055 87029", start: "2026-04-06T20:00:00.000Z" },
      { ...d, feature: "elec_solve_level2", user: "root", host: "nib107.hpc", handle: "license-server/1055 134663", start: "2026-04-06T20:00:00.000Z" },
      { ...d, feature: "elec_solve_level2", user: "root", host: "nib112.hpc", handle: "license-server/1055 82769", start: "2026-04-06T20:01:00.000Z" },
    ]);
  });

  it("synthetic DOORS output: the vendor daemon's name after the display is an extra token (user rebecca.woodard.ext on doorsts)", () => {
    const r = source().parse(local("flexlm/lmstat-synthetic-doors-vendor-token.txt"), TAKEN);
    expect(rows(holdersOf(r)).map((h) => [h.user, h.host])).toEqual([["rebecca.woodard.ext", "doorsts"], ["Surfer", "rst5"], ["anne-clarissa", "doorsts"]]);
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("synthetic output with a user line without `(vX)` (lmstat prints it only above 0.0): dave is held, not an unknown line", () => {
    const r = source().parse(local("flexlm/lmstat-synthetic-no-client-version.txt"), TAKEN);
    expect(rows(holdersOf(r)).map((h) => [h.user, h.host, h.handle, h.start])).toEqual([
      ["ann", "pc1", "lic1/27000 101", "2024-03-04T09:00:00.000Z"], ["dave", "pc4", "lic1/27000 104", "2024-03-04T09:45:00.000Z"], ["erin", "pc5", "lic1/27000 105", "2024-03-03T22:10:00.000Z"],
    ]);
    expect(r.stated_in_use).toEqual({ Virtuoso_Schematic: 4 }); // 3 holders + 1 reservation
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("synthetic output with user lines without `(server/port handle)` (lmstat prints it only for a handle other than 0): held, not unknown lines", () => {
    const r = source().parse(local("flexlm/lmstat-synthetic-no-handle.txt"), TAKEN);
    expect(rows(holdersOf(r)).map((h) => [h.user, h.host, h.handle, h.count, h.start])).toEqual([
      ["fmorel", "gx3", "lic2/27000 301", 1, "2024-03-05T08:40:00.000Z"], ["hlindqvist", "gx7", "", 2, "2024-03-05T09:05:00.000Z"],
      ["ipatel", "gx9", "", 1, "2024-03-04T17:30:00.000Z"], ["ipatel", "gx9", "", 1, "2024-03-04T17:30:00.000Z"], // no `(vX)` either; two checkouts
    ]);
    expect(r.stated_in_use).toEqual({ terrain_pro: 5 });
    expect(mismatches(r)).toEqual({});
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("synthetic output of borrowed licenses (FLEXlm 9.2): `borrowable licenses issued` states the total, `, borrow-return …` is a known suffix", () => {
    const r = source().parse(local("flexlm/lmstat-synthetic-borrowable.txt"), TAKEN);
    expect(rows(holdersOf(r)).map((h) => [h.user, h.count, h.start])).toEqual([["ann", 1, "2024-03-04T09:00:00.000Z"], ["bob", 2, "2024-03-04T09:30:00.000Z"]]);
    expect(r.stated_in_use).toEqual({ aa_r: 3 });
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("synthetic New Year output (America/New_York): BOM, CRLF, spaced user, 12/31 start is last year, queued not held, daemon down", () => {
    const r = source("America/New_York").parse(local("snapshot-lmstat-synthetic-newyear.txt"), Date.UTC(2025, 0, 2, 5, 5));
    const at = Date.UTC(2025, 0, 2, 5, 5);
    expect(r.events[0]).toEqual({ type: "server_down", at, daemon: "adskflex", reason: "The desired vendor daemon is down. (-97,121)" });
    const d = { daemon: "MLM", feature: "MATLAB", version: "52" };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "Marta Rodriguez", host: "DESKTOP-L00QHGH", handle: "lic01/27000 301", count: 1, start: "2025-01-01T04:50:00.000Z" },
      { ...d, user: "jose", host: "DESKTOP-9", handle: "lic01/27000 402", count: 2, start: "2025-01-02T05:01:00.000Z" },
      { ...d, user: "ana", host: "DESKTOP-3", handle: "lic01/27000 403", count: 1, start: "2024-12-30T14:00:00.000Z" },
    ]);
    expect(r.queued).toEqual([{ feature: "MATLAB", user: "ana", host: "DESKTOP-3", count: 2 }]);
    expect(r.stated_in_use).toEqual({ MATLAB: 4 });
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("synthetic two license files, MLM up on one and down on the other: no server_down for MLM, its sessions run on", () => {
    const text = shared("flexlm/lmstat-synthetic-vendor-down-one-server.txt");
    const r = source("America/New_York").parse(text, TAKEN);
    expect(r.events.map((e) => e.type)).toEqual(["snapshot"]);
    expect(rows(holdersOf(r)).map((h) => [h.daemon, h.user, h.start])).toEqual([
      ["MLM", "alice", "2024-01-01T04:10:00.000Z"], ["MLM", "bob", "2024-01-03T13:00:00.000Z"], ["adskflex", "john.smith", "2024-01-02T21:20:00.000Z"],
    ]);
    // Polled twice: the second output lists the same holders, so nothing is checked in (a server_down would end them all).
    const diff = new SnapshotDiff();
    diff.apply(r.events);
    const again = source("America/New_York").parse(text.replace("1/3/2024 9:15", "1/3/2024 9:20"), TAKEN + 300_000);
    expect(diff.apply(again.events).map((e) => e.type)).toEqual(["alive"]);
  });

  it("reservations and queued requests are reported, not held (app1 feature5, app6)", () => {
    const app1 = source().parse(shared("flexlm/lmstat-mjtrangoni-app1.txt"), TAKEN);
    expect(app1.queued).toEqual([
      { feature: "feature5", user: "user3", host: "server6u065", count: 1 },
      { feature: "feature5", user: "user3", host: "server6u065", count: 1 },
    ]);
    expect(holdersOf(app1).filter((h) => h.feature === "feature30")).toEqual([]);
    expect(app1.reservations.filter((x) => x.feature === "feature30").reduce((n, x) => n + x.count, 0)).toBe(169);
    const app6 = source().parse(shared("flexlm/lmstat-mjtrangoni-app6.txt"), TAKEN);
    expect(app6.reservations.filter((x) => x.feature === "Power_System_Blocks")).toEqual([{ feature: "Power_System_Blocks", count: 1, for: "GROUP DED" }]);
  });
});

describe("flexlm-lmstat: user lines are read from the right", () => {
  it.each([
    ["    1 GM-007028 GM-007028 (v1.000) (iss.samba.gazpromproject.ru/27000 37583), start Thu 10/1 11:44  (linger: 4263164 / 5487240)", "1", "GM-007028", 1],
    ["    user1 host-01 host-01:0895184_3 2029.01 (v2029.01) (SERVER1/1717 87554), start Fri 9/25 11:44, PID: 895184", "user1", "host-01", 1],
    ["    ABCDKK ER0037 SESOR045 MSCONE:ADAMS_View (v2023.0331) (myserver.example.com/29065 2639), start Fri 3/8 13:25, 5 licenses", "ABCDKK", "ER0037", 5],
    ["    usbn12 p-c94.com /dev/tty feature=test_feature_2 (v2023.0) (myserver.example.com/41020 626), start Mon 3/11 13:16, 1400 licenses", "usbn12", "p-c94.com", 1400],
    ["    cmfy212 UFRTR1LT0087375 UFRTR1LT00873750.0 (v1.00) (host3.domain.net/28000 1401), start Wed 5/23 5:59, 16 licenses  (linger: 885098 / 1340160)", "cmfy212", "UFRTR1LT0087375", 16],
    ["    user2 host-01 (v2026.03) (SERVER1/27020 19210), start Fri 9/25 11:44, PID: 310056", "user2", "host-01", 1],
    ["    Jane Doe Jr. jane icc&f3rU7|<7R/oW/r`?Fj_K5 (v10.1) (host3.domain.net/27002 3404), start Wed 7/4 11:55", "Jane Doe Jr.", "jane", 1],
    ["   roberpj c630 c630.nibi.sharcnet 1238925 (v2025.0506) (license1.computecanada.ca/1055 2579), start Wed 3/11 16:46, 4 licenses, PID: 1239140 ", "roberpj", "c630", 4],
    ["  root nib110.hpc n110.hpc 1896957 (v2025.0506) (license-server/1055 6785), start Mon 4/6 19:59, PID: 1896801", "root", "nib110.hpc", 1],
    ["    dave pc4 pc4 (lic1/27000 104), start Mon 3/4 9:45, 2 licenses", "dave", "pc4", 2], // no `(vX)`: a client version of 0.0
    ["    bob pc2 pc2 (v2024.0101) (lic1/27000 102), start Mon 3/4 9:30, 2 licenses, borrow-return Fri 3/29 17:05", "bob", "pc2", 2],
  ])("%s", (line, user, host, count) => {
    const u = parseUserLine(line)!;
    expect([u.user, u.host, u.count, u.leftover]).toEqual([user, host, count, ""]);
  });
});

describe("flexlm-lmstat: a token naming the vendor daemon is never the display", () => {
  // A DOORS monitor's parse examples (telelogic daemon): the client writes `telelogic` after the display.
  it.each([
    ["    rebecca.woodard.ext doorsts VIC-HUD-L017 telelogic (v2009.0602) (bie-pvcs-01/19353 3344), start Mon 3/21 16:37", "rebecca.woodard.ext", "doorsts", "VIC-HUD-L017"],
    ["    Surfer rst5 rst5 telelogic (v2009.0602) (bie-pvcs-01/19353 129), start Tue 3/22 9:58", "Surfer", "rst5", "rst5"],
  ])("%s", (line, user, host, display) => {
    const u = parseUserLine(line, "telelogic")!;
    expect([u.user, u.host, u.display, u.extra]).toEqual([user, host, display, ["telelogic"]]);
  });
});

describe("flexlm-lmstat: the year of a start comes from the header", () => {
  const anchor = { year: 2025, month: 1, day: 2, hour: 0, minute: 5, second: 0 };
  it("a start after the header time belongs to the previous year", () => {
    expect(resolveYear({ weekday: "Tue", month: 12, day: 31, hour: 23, minute: 50 }, anchor)).toBe(2024);
  });
  it("the weekday decides when the server clock runs a minute ahead of the header", () => {
    const header = { year: 2025, month: 2, day: 10, hour: 11, minute: 26, second: 0 };
    expect(resolveYear({ weekday: "Mon", month: 2, day: 10, hour: 11, minute: 27 }, header)).toBe(2025);
  });
  it("a weekday that fits neither year leaves the roll-over rule in force", () => {
    const header = { year: 2017, month: 10, day: 20, hour: 17, minute: 2, second: 0 };
    expect(resolveYear({ weekday: "Mon", month: 6, day: 11, hour: 11, minute: 1 }, header)).toBe(2017);
  });
  it("a server clock a minute ahead at New Year: a 1/1 0:00 start read at 12/31 23:59 is the next year's", () => {
    const header = { year: 2025, month: 12, day: 31, hour: 23, minute: 59, second: 0 };
    expect(resolveYear({ weekday: "Thu", month: 1, day: 1, hour: 0, minute: 0 }, header)).toBe(2026);
    expect(resolveYear({ month: 1, day: 1, hour: 0, minute: 0 }, header)).toBe(2026); // rlmstat prints no weekday
  });
  it("without a weekday, a start up to a day after the anchor is clock skew; later than that, the year before", () => {
    const anchor = { year: 2026, month: 12, day: 4, hour: 10, minute: 0, second: 30 };
    expect(resolveYear({ month: 12, day: 4, hour: 10, minute: 1 }, anchor)).toBe(2026);
    expect(resolveYear({ month: 12, day: 5, hour: 11, minute: 0 }, anchor)).toBe(2025);
  });
});
