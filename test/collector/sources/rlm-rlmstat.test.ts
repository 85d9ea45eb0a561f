import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RlmRlmstatSource } from "../../../collector/sources/rlm-rlmstat.ts";
import { SnapshotDiff } from "../../../collector/sources/snapshot-diff.ts";
import { SessionTracker } from "../../../collector/sessions/session-tracker.ts";
import { SHARED_FIXTURES, holdersOf, mismatches, rows, shared } from "./snapshot-fixtures.ts";

const source = (timezone = "UTC") => new RlmRlmstatSource({ name: "rlmstat", timezone });
const files = readdirSync(SHARED_FIXTURES + "rlm").filter((f) => f.startsWith("rlmstat-") && !f.includes("-synthetic")); // real samples only (not the synthetic ones beside them)

describe("rlm-rlmstat: every real fixture", () => {
  it.each(files)("%s parses without a crash or unknown lines", (file) => {
    expect(source().parse(shared("rlm/" + file), Date.UTC(2023, 7, 24)).stats.unknown_lines).toBe(0);
  });

  it.each(files.filter((f) => !f.includes("error")))("%s: handles held per product equal the pool's stated inuse", (file) => {
    const r = source().parse(shared("rlm/" + file), Date.UTC(2023, 7, 24));
    expect(r.events.map((e) => e.type)).toEqual(["snapshot"]);
    expect(mismatches(r)).toEqual({});
  });

  it("`Error connecting to \"rlm\" server` is a server_down", () => {
    const r = source().parse(shared("rlm/rlmstat-omnivector-error.txt"), Date.UTC(2023, 7, 24, 0, 0, 0, 500));
    expect(r.events).toEqual([{ type: "server_down", at: Date.UTC(2023, 7, 24), reason: 'Error connecting to "rlm" server; Connection attempted to host: "" on port 5053' }]);
  });
});

describe("rlm-rlmstat: holders written out by hand", () => {
  it("csci (America/Chicago): the server's clock is init time + elapsed statistics; starts take its year", () => {
    // Any collector time: the year comes from the output's own clock (Nov 3 2021 12:48:38 CDT).
    const r = source("America/Chicago").parse(shared("rlm/rlmstat-omnivector-csci.txt"), Date.UTC(2030, 0, 1));
    expect(new Date(r.stated_at!).toISOString()).toBe("2021-11-03T17:48:38.000Z");
    const d = { daemon: "csci", feature: "converge_super", version: "3.0" };
    // Upstream-edited: two lines share handle 15a (29 + 37); the pool states 93 = 29 + 27 + 37.
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "asdj13", host: "myserver.example.com", handle: "15a", count: 29, start: "2021-11-01T14:01:00.000Z" },
      { ...d, user: "cddcp2", host: "myserver.example.com", handle: "128", count: 27, start: "2021-11-03T15:38:00.000Z" },
      { ...d, user: "asdj13", host: "myserver.example.com", handle: "15a", count: 37, start: "2021-11-01T14:01:00.000Z" },
    ]);
    expect(r.stated_in_use).toEqual({ converge: 0, converge_gui: 0, converge_gui_polygonica: 0, converge_super: 93, converge_tecplot: 0 });
  });

  it("simio `rlmstat -a -i simio` (RLM v15.1): no rlm section, an `info log filename` line; the clock is the ISV's statistics", () => {
    // Todays Statistics (08:40:33) from Mon May 20 00:00:50 2024 = 08:41:23 (Recent: 08:39:24 + 00:01:59, the same).
    const r = source().parse(shared("rlm/rlmstat-jordiroman-simio.txt"), Date.UTC(2030, 0, 1));
    expect(new Date(r.stated_at!).toISOString()).toBe("2024-05-20T08:41:23.000Z");
    expect(r.stated_in_use).toEqual({ "simio-academic": 0 });
    expect(r.events).toEqual([{ type: "snapshot", at: Date.UTC(2030, 0, 1), holders: [] }]);
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("exacorp excerpt without a stated clock: the year comes from the poll time, rolling back over New Year", () => {
    const r = source().parse(shared("rlm/rlmstat-omnivector-exacorp-excerpt.txt"), Date.UTC(2024, 0, 5, 8));
    expect(r.stated_at).toBeUndefined();
    expect(rows(holdersOf(r)).map((h) => [h.daemon, h.feature, h.user, h.host, h.handle, h.count, h.start])).toEqual([
      ["exacorp", "powercase", "dfsdgv", "server1", "182", 1, "2023-08-15T09:34:00.000Z"],
      ["exacorp", "powercase", "addvbh", "server2", "c4", 1, "2023-08-16T09:36:00.000Z"],
      ["exacorp", "powercase", "wrtgb3", "server3", "11c", 1, "2023-08-21T14:53:00.000Z"],
      ["exacorp", "powerdelta", "ghnds2", "server4", "a2", 1, "2023-08-23T15:16:00.000Z"],
    ]);
  });

  it("synthetic clock-ahead output read at the poll time: a start a minute after it is no checkout of a year ago", () => {
    // No statistics lines: the anchor is the collector's 2026-12-31 23:59:30; the server's clock runs ahead
    // and already shows carl's checkout at 01/01 00:00. dora's 01/02 is over a day ahead: the year before.
    const r = source().parse(shared("rlm/rlmstat-synthetic-clock-ahead.txt"), Date.UTC(2026, 11, 31, 23, 59, 30));
    expect(r.stated_at).toBeUndefined();
    expect(rows(holdersOf(r)).map((h) => [h.user, h.start])).toEqual([
      ["ann", "2026-12-31T23:10:00.000Z"],
      ["bob", "2026-12-31T23:59:00.000Z"],
      ["carl", "2027-01-01T00:00:00.000Z"],
      ["dora", "2026-01-02T09:00:00.000Z"],
    ]);
    // Read on 01/02 at 10:00, every start is before the anchor: 12/31 is the year before, 01/01 and 01/02 this year.
    const later = source().parse(shared("rlm/rlmstat-synthetic-clock-ahead.txt"), Date.UTC(2027, 0, 2, 10));
    expect(rows(holdersOf(later)).map((h) => h.start)).toEqual([
      "2026-12-31T23:10:00.000Z", "2026-12-31T23:59:00.000Z", "2027-01-01T00:00:00.000Z", "2027-01-02T09:00:00.000Z",
    ]);
  });

  it("the older usage layout of the RLM manual (`tom@sun1(v1.0) (809f418) 1/0 at 02/06 09:59`) is read too", () => {
    const text = "    test3 license usage status on sun1 (port 5053)\n    test3 v1.000: tom@sun1(v1.0) (809f418) 1/0 at 02/06 09:59\n";
    const r = source().parse(text, Date.UTC(2024, 2, 1));
    expect(rows(holdersOf(r))).toEqual([
      { daemon: "test3", feature: "test3", version: "1.000", user: "tom", host: "sun1", handle: "809f418", count: 1, start: "2024-02-06T09:59:00.000Z" },
    ]);
  });

  it("an ISV listed as not running is a server_down for that daemon", () => {
    const text = "    --------- ISV servers ----------\n    Name           Port Running Restarts\n    csci             63133   No      3\n";
    expect(source().parse(text, 5000).events).toEqual([{ type: "server_down", at: 5000, daemon: "csci", reason: "ISV server csci not running" }]);
  });
});

describe("rlm-rlmstat: handles that share one license (RLM share=)", () => {
  // Synthetic, shaped on a Foundry (Nuke) rlmstat in a public exporter's tests (not a fixture: no
  // licence): each Nuke session lists two handles of one user@host started the same minute, and the
  // pool counts one license.
  const output = (pools: Record<string, number>, lines: string[]) =>
    [
      "foundry license pool status on lic1 (port 49679)",
      ...Object.entries(pools).flatMap(([product, inuse]) => [`${product} v2024.0701, pool: 1`, `\tcount: 22, # reservations: 0, inuse: ${inuse}, exp: permanent`]),
      "foundry license usage status on lic1 (port 49679)",
      ...lines.map((l) => `\t${l}`),
    ].join("\n") + "\n";
  const AT = Date.UTC(2024, 2, 28, 22, 0);
  const nuke = (user: string, host: string, hhmm: string, handle: string) => `nuke_i v2024.0701: ${user}@${host} 1/0 at 03/28 ${hhmm}  (handle: ${handle})`;

  it("the handles of one user@host and start are one license where the pool counts fewer than are listed", () => {
    const r = source().parse(output({ nuke_i: 3 }, [
      nuke("user2.lastname", "ws-02", "20:41", "c0e"), nuke("user2.lastname", "ws-02", "20:41", "2ae5"),
      nuke("user3.lastname", "ws-03", "18:58", "3b9d"), nuke("user4.lastname", "ws-04", "20:39", "329"),
    ]), AT);
    expect(rows(holdersOf(r)).map((h) => [h.user, h.handle, h.count])).toEqual([
      ["user2.lastname", "", 1], ["user3.lastname", "3b9d", 1], ["user4.lastname", "329", 1],
    ]);
    expect(mismatches(r)).toEqual({});
  });

  it("ten batch jobs of one user started in one minute on one node stay ten licenses when the pool says ten", () => {
    const jobs = Array.from({ length: 10 }, (_, i) => nuke("hpcuser", "node17", "03:00", `a${i}`));
    const r = source().parse(output({ nuke_i: 10 }, jobs), AT);
    expect(holdersOf(r)).toHaveLength(10);
    // And when the pool counts fewer than the groups would leave (some other line is off), none is merged.
    const odd = source().parse(output({ nuke_i: 10 }, [...jobs, nuke("ann", "ws-9", "04:00", "b1"), nuke("ann", "ws-9", "04:00", "b2")]), AT);
    expect(holdersOf(odd)).toHaveLength(12);
  });

  it("polled: a shared license that loses a handle, then gains one, is billed once over time, never twice", () => {
    const src = source(), diff = new SnapshotDiff(), tracker = new SessionTracker({ source: "rlmstat", cut_s: 3600 });
    const pair = [nuke("ann", "ws-1", "20:41", "c0e"), nuke("ann", "ws-1", "20:41", "2ae5")];
    const polls: Array<[number, string]> = [
      [Date.UTC(2024, 2, 28, 21, 0), output({ nuke_i: 1 }, pair)], // both handles, one license
      [Date.UTC(2024, 2, 28, 21, 10), output({ nuke_i: 1 }, [pair[1]!])], // the first handle ended
      [Date.UTC(2024, 2, 28, 21, 20), output({ nuke_i: 1 }, pair)], // (the pool still counts one)
      [Date.UTC(2024, 2, 28, 21, 30), output({ nuke_i: 0 }, [])],
    ];
    let seconds = 0;
    for (const [at, text] of polls) {
      for (const e of diff.apply(src.parse(text, at).events)) {
        for (const rec of tracker.apply(e)) if (rec.kind === "usage") seconds += ((rec.data.end - rec.data.start) / 1000) * rec.data.count;
      }
    }
    for (const rec of tracker.finish()) if (rec.kind === "usage") seconds += ((rec.data.end - rec.data.start) / 1000) * rec.data.count;
    // 20:41 to 21:20, the last poll that showed the license: one license all along.
    expect(seconds).toBe(39 * 60);
  });
});
