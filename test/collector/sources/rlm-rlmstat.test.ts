import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RlmRlmstatSource } from "../../../collector/sources/rlm-rlmstat.ts";
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
