import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { LmxSource } from "../../../collector/sources/lmx.ts";
import { SHARED_FIXTURES, holdersOf, local, mismatches, rows, shared } from "./snapshot-fixtures.ts";

const AT = Date.UTC(2024, 2, 12);
const source = () => new LmxSource({ name: "lmx", timezone: "UTC" });
const files = readdirSync(SHARED_FIXTURES + "lmx");

describe("lmx -licstat (text): every real fixture", () => {
  it.each(files)("%s parses without a crash or unknown lines", (file) => {
    expect(source().parse(shared("lmx/" + file), AT).stats.unknown_lines).toBe(0);
  });

  it.each(files.filter((f) => !f.includes("error")))("%s: licenses held per feature equal the stated `N of M license(s) used`", (file) => {
    const r = source().parse(shared("lmx/" + file), AT);
    expect(r.events.map((e) => e.type)).toEqual(["snapshot"]);
    expect(mismatches(r)).toEqual({});
  });

  it("`There are no license server(s) available.` is a server_down", () => {
    expect(source().parse(shared("lmx/lmx-licstat-omnivector-error.txt"), AT).events).toEqual([
      { type: "server_down", at: AT, reason: "There are no license server(s) available." },
    ]);
  });

  it("hostuser: indented detail lines, hostname with an app suffix; start = checkout time", () => {
    const r = source().parse(shared("lmx/lmx-licstat-omnivector-hostuser.txt"), AT);
    const d = { daemon: "abc", feature: "FEMFAT_VISUALIZER", version: "2024.0", handle: "", count: 1 };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "fdsva1", host: "dcv046.com_ver2023", start: "2024-03-11T12:50:00.000Z" },
      { ...d, user: "asdsc1", host: "dcv048.com_ver2022a", start: "2024-03-11T17:29:00.000Z" },
    ]);
  });

  it("altair: one user with two checkouts of different times is two holders", () => {
    const r = source().parse(shared("lmx/lmx-licstat-omnivector-altair.txt"), AT);
    expect(rows(holdersOf(r)).filter((h) => h.feature === "GlobalZoneEU").map((h) => [h.user, h.host, h.count, h.start])).toEqual([
      ["VRAAFG", "RD0082879", 15000, "2022-02-18T09:29:00.000Z"],
      ["VRAAFG", "RD0082879", 25000, "2022-02-18T09:26:00.000Z"],
    ]);
  });
});

describe("lmx -licstatxml (synthetic fixture from the documented schema)", () => {
  it("skips the banner, reads the first SUCCESS server of a triad, decodes entities, starts a borrowed user at login", () => {
    const r = source().parse(local("snapshot-lmx-licstatxml-synthetic.xml"), AT);
    const d = { daemon: "ALTAIR", version: "22.0", handle: "" };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, feature: "HyperWorks", user: "user1", host: "client1", count: 21000, start: "2022-02-01T15:14:00.000Z" },
      { ...d, feature: "HyperWorks", user: "Ana & Bo", host: "client2", count: 25000, start: "2022-02-01T08:06:00.000Z" },
      { ...d, feature: "HWSolvers", user: "roamer", host: "laptop7", count: 1, start: "2022-01-28T17:00:00.000Z" },
    ]);
    expect(r.stated_in_use).toEqual({ HyperWorks: 46000, HWSolvers: 1, HWIdle: 0 });
    expect(mismatches(r)).toEqual({});
    expect(r.stats.unknown_lines).toBe(0);
  });

  it("users inside a <USED> element of the feature are holders too (the shape crivasg/HWTokenLicenseChecker's LMX2SQLite.cs reads beside the flat one)", () => {
    // Synthetic: no public -licstatxml sample exists. That parser, written against real lmxendutil output,
    // takes USER from FEATURE/USED when the document has a USED element and from FEATURE otherwise.
    const xml = [
      '<?xml version="1.0" encoding="UTF-8"?>',
      "<LM-X>",
      '<LICENSE_PATH TYPE="NETWORK" HOST="6200@lic1" SERVER_VERSION="5.5" UPTIME="1 hour(s) 0 min(s) 0 sec(s)" STATUS="SUCCESS">',
      '  <FEATURE NAME="HyperWorks" VERSION="22.0" VENDOR="ALTAIR" START="2020-04-25" END="2025-12-31" USED_LICENSES="46000" TOTAL_LICENSES="1150000" DENIED_LICENSES="0" SHARE="CUSTOM ,VIRTUAL">',
      "    <USED>",
      '      <USER NAME="user1" HOST="client1" IP="10.0.0.11" USED_LICENSES="21000" LOGIN_TIME="2022-02-01 15:12" CHECKOUT_TIME="2022-02-01 15:14" SHARE_CUSTOM="user1:client1"/>',
      '      <USER NAME="user2" HOST="client2" IP="10.0.0.12" USED_LICENSES="25000" LOGIN_TIME="2022-02-01 08:05" CHECKOUT_TIME="2022-02-01 08:06" SHARE_CUSTOM="user2:client2"/>',
      "    </USED>",
      "  </FEATURE>",
      '  <FEATURE NAME="HWSolvers" VERSION="22.0" VENDOR="ALTAIR" START="2020-04-25" END="2025-12-31" USED_LICENSES="0" TOTAL_LICENSES="10" DENIED_LICENSES="0" SHARE="">',
      "    <USED/>",
      "  </FEATURE>",
      "</LICENSE_PATH>",
      "</LM-X>",
    ].join("\n");
    const r = source().parse(xml, AT);
    const d = { daemon: "ALTAIR", feature: "HyperWorks", version: "22.0", handle: "" };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, user: "user1", host: "client1", count: 21000, start: "2022-02-01T15:14:00.000Z" },
      { ...d, user: "user2", host: "client2", count: 25000, start: "2022-02-01T08:06:00.000Z" },
    ]);
    expect(mismatches(r)).toEqual({});
  });

  it("no server with STATUS=\"SUCCESS\" is a server_down", () => {
    expect(source().parse(local("snapshot-lmx-licstatxml-synthetic-down.xml"), AT).events).toEqual([
      { type: "server_down", at: AT, reason: "no LM-X server answered (6200@hal1: FAILED; 6200@hal2: FAILED)" },
    ]);
  });
});
