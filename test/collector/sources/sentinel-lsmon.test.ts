import { describe, expect, it } from "vitest";
import { SentinelLsmonSource } from "../../../collector/sources/sentinel-lsmon.ts";
import { holdersOf, mismatches, rows, shared } from "./snapshot-fixtures.ts";

const AT = Date.UTC(2020, 10, 3, 12);
const source = (timezone = "UTC") => new SentinelLsmonSource({ name: "lsmon", timezone });

describe("sentinel-lsmon", () => {
  it("aveva (Europe/Moscow): clients written out by hand, `Running since` as start", () => {
    const r = source("Europe/Moscow").parse(shared("sentinel/lsmon-amberdante-aveva.txt"), AT);
    expect(r.stats.unknown_lines).toBe(0);
    const d = { daemon: "sentinel", feature: "AVEVA201", version: "1.0", handle: "", count: 1 };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "enssap", host: "OENS-1-8222", start: "2020-11-03T08:34:40.000Z" },
      { ...d, user: "akotovskii", host: "CIM-1-8303", start: "2020-11-03T08:19:09.000Z" },
      { ...d, user: "NikishinAV", host: "aso-34", start: "2020-11-03T07:06:18.000Z" },
    ]);
  });

  it("stated tokens in use vs clients listed: SOURCES.md documents the upstream cut (13 in use, 3 clients shown)", () => {
    const r = source().parse(shared("sentinel/lsmon-amberdante-aveva.txt"), AT);
    expect(r.stated_in_use).toEqual({ ARMS_ID: 0, AVEVA201: 13 });
    expect(mismatches(r)).toEqual({ AVEVA201: { stated: 13, derived: 3 } });
  });

  it("a client holding several tokens says so (`Number of tokens used`, a key of lsmon's own string table): its count, not 1 (synthetic)", () => {
    const r = source().parse(shared("sentinel/lsmon-synthetic-tokens-used.txt"), Date.UTC(2025, 2, 12, 12));
    expect(r.stats.unknown_lines).toBe(0);
    const d = { daemon: "sentinel", feature: "SOLVER_PRO", version: "3.0", handle: "" };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "mhollis", host: "ws-ridge-04", count: 4, start: "2025-03-12T08:15:02.000Z" },
      { ...d, user: "tnakamura", host: "ws-ridge-11", count: 1, start: "2025-03-12T09:40:47.000Z" },
    ]);
    expect(mismatches(r)).toEqual({}); // 5 tokens in use, 4 + 1 listed
  });

  it("a client key that may change what it holds (`Token shared by`) is an unknown line with a sample, not passed over (synthetic text)", () => {
    const client = shared("sentinel/lsmon-amberdante-aveva.txt").replace(
      "     |- Is commuter token              : NO",
      "     |- Is commuter token              : NO\n     |- Token shared by                : 2 other user(s)",
    );
    const r = source().parse(client, AT);
    expect(r.stats.unknown_lines).toBe(1);
    expect(r.stats.unknown_samples).toEqual(["     |- Token shared by                : 2 other user(s)"]);
    expect(holdersOf(r)).toHaveLength(3); // still read, one license each
  });

  it("an output with no feature tree but an error line is a server_down (synthetic text)", () => {
    const text = "  Sentinel RMS Development Kit 9.1.0.0104 Application Monitor\n [Contacting Sentinel RMS Development Kit server on host \"lic7\"]\n Unable to contact the license server on host \"lic7\".\n";
    expect(source().parse(text, AT).events).toEqual([{ type: "server_down", at: AT, reason: 'Unable to contact the license server on host "lic7".' }]);
  });
});
