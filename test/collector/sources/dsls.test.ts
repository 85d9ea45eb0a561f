import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DslsSource, csvFields } from "../../../collector/sources/dsls.ts";
import { SHARED_FIXTURES, holdersOf, local, mismatches, rows, shared } from "./snapshot-fixtures.ts";

const AT = Date.UTC(2024, 11, 10);
const source = () => new DslsSource({ name: "dsls", timezone: "UTC" });
const files = readdirSync(SHARED_FIXTURES + "dsls");

describe("dsls getLicenseUsage -csv: every real fixture", () => {
  it.each(files)("%s parses without a crash or unknown lines", (file) => {
    expect(source().parse(shared("dsls/" + file), AT).stats.unknown_lines).toBe(0);
  });

  it.each(files.filter((f) => !f.includes("error")))("%s: Tokens held per feature equal the stated Inuse", (file) => {
    const r = source().parse(shared("dsls/" + file), AT);
    expect(r.events.map((e) => e.type)).toEqual(["snapshot"]);
    expect(mismatches(r)).toEqual({});
  });

  it("`Cannot connect to server …` is a server_down", () => {
    expect(source().parse(shared("dsls/dsls-omnivector-error.txt"), AT).events).toEqual([
      { type: "server_down", at: AT, reason: "Cannot connect to server localhost on port 1234" },
    ]);
  });

  it("holders: Tokens (not the feature Count), host before its id and IP, Session ID as handle, Granted Since as start", () => {
    const r = source().parse(shared("dsls/dsls-getlicenseusage-csv-omnivector.txt"), AT);
    const d = { daemon: "DSLS", version: "" };
    expect(rows(holdersOf(r))).toEqual([
      { ...d, feature: "PW7", user: "user_1", host: "nid001627", handle: "02DBE16", count: 2, start: "2024-09-17T17:59:34.000Z" },
      { ...d, feature: "SRU", user: "user_2", host: "nid001626", handle: "02DBE16", count: 493, start: "2024-09-17T17:59:34.000Z" },
      { ...d, feature: "SRU", user: "user_3", host: "nid001601", handle: "02DBE17", count: 533, start: "2024-09-17T18:48:17.000Z" },
      { ...d, feature: "SRU", user: "user_4", host: "nid001671", handle: "02DBE18", count: 533, start: "2024-09-17T18:49:49.000Z" },
    ]);
  });

  it("synthetic: one feature from two licenses (other expiry and Count), each row stating its own license's Inuse: the feature's in use is their sum", () => {
    const r = source().parse(local("snapshot-dsls-synthetic-two-licenses.txt"), AT);
    expect(r.stated_in_use).toEqual({ MD2: 3, HD2: 0 });
    expect(mismatches(r)).toEqual({});
    expect(rows(holdersOf(r)).map((h) => [h.feature, h.user, h.host, h.count, h.start])).toEqual([
      ["MD2", "jdoe", "WS-01", 1, "2024-09-17T09:00:00.000Z"],
      ["MD2", "asmith", "WS-02", 1, "2024-09-18T08:00:00.000Z"],
      ["MD2", "bwong", "WS-03", 1, "2024-09-18T10:00:00.000Z"],
    ]);
  });

  it("header glued to the prompt after a warning; empty session fields leave no handle", () => {
    const r = source().parse(shared("dsls/dsls-getlicenseusage-csv-omnivector-warning.txt"), AT);
    expect(rows(holdersOf(r))).toEqual([
      { daemon: "DSLS", feature: "SRU", version: "", user: "user_1", host: "nid001234", handle: "", count: 493, start: "2024-12-09T03:02:19.000Z" },
    ]);
  });

  it("CSV fields keep commas inside quotes", () => {
    expect(csvFields('a,"b, c",,"say ""hi"""')).toEqual(["a", "b, c", "", 'say "hi"']);
  });
});
