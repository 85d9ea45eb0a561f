// An RLM report log copied from a server elsewhere states its clock (`TIMEZONE minutes-west daylight
// rules # readable`): read without --timezone it is not read in this machine's zone when that keeps
// another clock. The log is synthetic (no public sample exists): a New York server on the night
// DST began (9 Mar 2025, 2:00 EST → 3:00 EDT); this machine's zone is set per test (TZ).
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { rlmStatedZoneOfFile, timezoneOfLine } from "../../../collector/sources/rlm-timezone.ts";
import { fixedOffsetZone } from "../../../collector/sources/stated-zone.ts";
import { cli, enrolledState } from "../cli/cli-io.ts";
import { syntheticFixtures } from "./fixture-paths.ts";
import { runParse } from "./run-parse.ts";

const LOG = join(syntheticFixtures, "rlm/reportlog-synthetic-timezone-new-york.rl"); // TIMEZONE 300 1 0
const originalTz = process.env.TZ;
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-rlm-zone-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));
afterEach(() => {
  if (originalTz === undefined) delete process.env.TZ;
  else process.env.TZ = originalTz;
});

/** Node re-reads TZ when it is assigned: this machine's zone from then on. */
const onMachineIn = (zone: string) => { process.env.TZ = zone; };

/** The fixture with its TIMEZONE line's fields replaced. */
async function withTimezone(fields: string): Promise<string> {
  const file = join(dir, `tz-${fields.replace(/[^\w-]/g, "_")}.rl`);
  await writeFile(file, (await readFile(LOG, "utf8")).replace("TIMEZONE 300 1 0 # UTC-5, daylight saving time", `TIMEZONE ${fields}`));
  return file;
}

const session = async (file: string, ...extra: string[]) => {
  const r = await runParse(["--source", "rlm-reportlog", "--file", file, "--sessions", ...extra]);
  return { ...r, got: r.lines.map((s) => [s.user, new Date(s.start).toISOString(), new Date(s.end).toISOString()]) };
};
// 23:00 EST → 4:00 EDT: four hours; in a fixed UTC−5, five; in Berlin's zone, five, six hours early.
const NEW_YORK = [["alice", "2025-03-09T04:00:00.000Z", "2025-03-09T08:00:00.000Z"]];
const FIXED_MINUS_5 = [["alice", "2025-03-09T04:00:00.000Z", "2025-03-09T09:00:00.000Z"]];

describe("the TIMEZONE line", () => {
  it("is read with or without rules and comment, west positive and east negative; other shapes are not", () => {
    expect(timezoneOfLine("TIMEZONE 300 1 0 # Eastern")).toEqual({ east: -300, daylight: true });
    expect(timezoneOfLine("TIMEZONE -330 0")).toEqual({ east: 330, daylight: false });
    expect(timezoneOfLine("TIMEZONE -60 1 # UTC+1, daylight saving time")).toEqual({ east: 60, daylight: true });
    expect(timezoneOfLine("TIMEZONE 0 0 #")).toEqual({ east: 0, daylight: false });
    for (const bad of ["TIMEZONE", "TIMEZONE 300", "TIMEZONE EST 1", "TIMEZONE 300 yes", "TIMEZONE 2000 0", "TIMEZONE 300 1 0 extra", "TIMEZONE 5.5 0"]) {
      expect(timezoneOfLine(bad), bad).toBeUndefined();
    }
  });

  it("without DST is the zone that keeps that offset (Etc/GMT's sign is the reverse); part hours too, when that zone kept it all year", () => {
    expect(fixedOffsetZone(-300, 2025)).toBe("Etc/GMT+5");
    expect(fixedOffsetZone(840, 2025)).toBe("Etc/GMT-14");
    expect(fixedOffsetZone(0, 2025)).toBe("UTC");
    expect(fixedOffsetZone(330, 2025)).toBe("Asia/Kolkata");
    expect(fixedOffsetZone(345, 2025)).toBe("Asia/Kathmandu");
    expect(fixedOffsetZone(210, 2021)).toBeNull(); // Tehran kept DST until 2022
    expect(fixedOffsetZone(210, 2023)).toBe("Asia/Tehran");
    expect(fixedOffsetZone(-150, 2025)).toBeNull();
  });

  it("is found after the START that dates it; a file without one states nothing", async () => {
    const start = { year: 2025, month: 3, day: 8, hour: 20, minute: 0, second: 0 };
    expect(await rlmStatedZoneOfFile(LOG)).toEqual({ name: "300 1 0 # UTC-5, daylight saving time", zone: null, offset: { ms: -300 * 60_000, daylight: true, year: 2025, start } });
    expect(await rlmStatedZoneOfFile(await withTimezone("300 0"))).toEqual({ name: "300 0", zone: "Etc/GMT+5", offset: { ms: -300 * 60_000, daylight: false, year: 2025, start } });
    expect(await rlmStatedZoneOfFile(join(syntheticFixtures, "rlm/reportlog-synthetic-small-timejump.rl"))).toBeUndefined();
  });
});

describe("parse without --timezone, on a machine in another zone", () => {
  it("refuses a log whose offset keeps DST (no zone can be told from it), printing nothing", async () => {
    onMachineIn("Europe/Berlin");
    const r = await session(LOG);
    expect([r.code, r.lines]).toEqual([2, []]);
    const error = JSON.parse(r.stderr.trim());
    expect(error.error).toBe("timezone_mismatch");
    expect(error.message).toContain('states its server\'s clock as UTC-05:00 with daylight saving time ("TIMEZONE 300 1 0 # UTC-5, daylight saving time"), not this machine\'s clock (Europe/Berlin)');
    expect(error.message).toContain("--timezone (one with that clock: America/New_York, ");
  });

  it("reads a log whose offset keeps no DST in that fixed offset", async () => {
    onMachineIn("Europe/Berlin");
    const r = await session(await withTimezone("300 0"));
    expect([r.code, r.got]).toEqual([0, FIXED_MINUS_5]);
    expect(r.summary).toMatchObject({ timezone: "Etc/GMT+5", timezone_from: "stated", timezone_stated: "300 0", timezone_stated_zone: "Etc/GMT+5", timezone_stated_offset: "-05:00", timezone_stated_daylight: false });
    expect(r.summary.timezone_warning).toBeUndefined();
  });

  it("reads a log whose clock is this machine's in this machine's zone, and shows what it states", async () => {
    onMachineIn("America/New_York");
    const r = await session(LOG);
    expect([r.code, r.got]).toEqual([0, NEW_YORK]);
    expect(r.summary).toMatchObject({ timezone: "America/New_York", timezone_from: "machine", timezone_stated_zone: null, timezone_stated_offset: "-05:00", timezone_stated_daylight: true });
    onMachineIn("Europe/Berlin");
    const berlin = await session(await withTimezone("-60 1"));
    expect([berlin.code, berlin.summary.timezone, berlin.summary.timezone_from, berlin.got]).toEqual([0, "Europe/Berlin", "machine", [["alice", "2025-03-08T22:00:00.000Z", "2025-03-09T03:00:00.000Z"]]]);
    onMachineIn("America/Panama"); // UTC−5 all year: the same clock as a fixed UTC−5
    const panama = await session(await withTimezone("300 0"));
    expect([panama.summary.timezone, panama.summary.timezone_from, panama.got, panama.summary.timezone_warning]).toEqual(["America/Panama", "machine", FIXED_MINUS_5, undefined]);
  });

  it("does not take a flag 0 at a START on standard time for another clock than a zone with DST (it may mean DST was not in force), but says so", async () => {
    onMachineIn("America/New_York"); // the START, 8 Mar 20:00, is on EST
    const r = await session(await withTimezone("300 0"));
    expect([r.code, r.summary.timezone, r.summary.timezone_from, r.got]).toEqual([0, "America/New_York", "machine", NEW_YORK]);
    expect(r.summary.timezone_warning).toBe('the log states its server\'s clock as UTC-05:00 without daylight saving time ("TIMEZONE 300 0") at a START on standard time: read in America/New_York, which keeps daylight saving time; if the server keeps none, give --timezone Etc/GMT+5');
    // The synthetic Paris log (TIMEZONE -60 0, START 26 Mar 22:00 CET) on a machine in Paris.
    onMachineIn("Europe/Paris");
    const paris = await session(join(syntheticFixtures, "rlm/reportlog-synthetic-std.rl"));
    expect([paris.code, paris.summary.timezone_from, paris.summary.timezone_stated_offset]).toEqual([0, "machine", "+01:00"]);
    // A START on summer time with flag 0 is another clock: read in the fixed offset.
    onMachineIn("Europe/Berlin");
    const summer = join(dir, "summer.rl");
    await writeFile(summer, (await readFile(await withTimezone("-60 0"), "utf8")).replace("START licsrv-ny 03/08/2025 20:00", "START licsrv-ny 07/08/2025 20:00").replaceAll("03/0", "07/0"));
    expect((await session(summer)).summary).toMatchObject({ timezone: "Etc/GMT-1", timezone_from: "stated" });
  });

  it("reads an unreadable TIMEZONE line as before (this machine's zone), counted as unknown with a sample", async () => {
    onMachineIn("UTC");
    const r = await session(await withTimezone("EST5EDT 1"));
    expect([r.code, r.summary.timezone, r.summary.timezone_from, r.summary.timezone_stated, r.summary.timezone_stated_zone]).toEqual([0, "UTC", "machine", "EST5EDT 1", null]);
    expect([r.summary.unknown_lines, r.summary.unknown_samples]).toEqual([1, ["TIMEZONE EST5EDT 1"]]);
  });
});

describe("--timezone still wins", () => {
  it("without a word when it keeps the stated clock; with a warning when it does not", async () => {
    onMachineIn("Europe/Berlin");
    const ny = await session(LOG, "--timezone", "America/New_York");
    expect([ny.code, ny.got, ny.summary.timezone_from, ny.summary.timezone_warning]).toEqual([0, NEW_YORK, "option", undefined]);
    const tokyo = await session(LOG, "--timezone", "Asia/Tokyo");
    expect([tokyo.code, tokyo.summary.timezone, tokyo.summary.timezone_from]).toEqual([0, "Asia/Tokyo", "option"]);
    expect(tokyo.summary.timezone_warning).toBe('the log states its server\'s clock as UTC-05:00 with daylight saving time ("TIMEZONE 300 1 0 # UTC-5, daylight saving time"), not the clock of Asia/Tokyo');
    expect((await session(await withTimezone("300 0"), "--timezone", "America/Chicago")).summary.timezone_warning).toContain("UTC-05:00 without daylight saving time");
    // The synthetic Paris log states Paris's clock (a flag 0 at a START on standard time).
    const paris = await session(join(syntheticFixtures, "rlm/reportlog-synthetic-std.rl"), "--timezone", "Europe/Paris");
    expect([paris.code, paris.summary.timezone_stated_offset, paris.summary.timezone_warning]).toEqual([0, "+01:00", undefined]);
  });
});

describe("backfill", () => {
  it("refuses what parse refuses, appending nothing; reads a fixed offset and says so", async () => {
    onMachineIn("Europe/Berlin");
    const state = join(dir, "backfill");
    await enrolledState(state);
    const refused = await cli(["backfill", "--source", "rlm-reportlog", "--file", LOG, "--state", state, "--json"]);
    expect(refused.status).toBe(2);
    expect(refused.json).toMatchObject({ ok: false, error: "usage", source_error: "timezone_mismatch" });
    const fixed = await cli(["backfill", "--source", "rlm-reportlog", "--file", await withTimezone("300 0"), "--state", state]);
    expect(fixed.status).toBe(0);
    expect(fixed.stdout).toMatch(/^appended \d+ records \(seq 1…/); // the refusal appended nothing
    expect(fixed.stdout).toContain("read in Etc/GMT+5, as the log states its clock as UTC-05:00 without daylight saving time (TIMEZONE 300 0)\n");
  });
});
