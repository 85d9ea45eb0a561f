// A FlexLM debug log names its server's zone (`Server's System Date and Time: … Eastern Daylight
// Time`): a file copied from a server elsewhere is read in that zone when no --timezone is given,
// not in this machine's. The real logs in test/fixtures name theirs in English and Spanish Windows
// names and as a Unix abbreviation; the rest of the cases are synthetic lines.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recordsFromFile } from "../../../collector/sources/parse-file.ts";
import { clockAgreement, OTHER_ZONE_NAMES, statedZoneOfFile, statedZoneOfLine, WINDOWS_ZONES } from "../../../collector/sources/stated-zone.ts";
import { isValidTimeZone, localTimeZone, zoneOffsetMs } from "../../../shared/time/zoned.ts";
import { cli, enrolledState } from "../cli/cli-io.ts";
import { sharedFixtures } from "./fixture-paths.ts";

const fixture = (name: string) => join(sharedFixtures, "flexlm", name);
let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "tally-stated-zone-")); });
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("the zone a debug log states", () => {
  it("reads the names real logs write, and the Windows and Unix names of one rule set", () => {
    const line = (rest: string) => `15:49:07 (lmgrd) Server's System Date and Time: ${rest}`;
    expect(statedZoneOfLine(line("Fri Jul 27 2018 15:49:07 Eastern Daylight Time"))).toEqual({ name: "Eastern Daylight Time", zone: "America/New_York" });
    expect(statedZoneOfLine(line("Thu May 05 2022 08:42:20 Hora de verano romance"))).toEqual({ name: "Hora de verano romance", zone: "Europe/Paris" });
    expect(statedZoneOfLine(line("Thu Jun 08 2017 09:49:41 EDT"))).toEqual({ name: "EDT", zone: "America/New_York" });
    expect(statedZoneOfLine(" 1:56:28 (adskflex) (@adskflex-SLOG@) Time: Fri Apr 01 2016 01:56:28 Romance Daylight Time")).toEqual({ name: "Romance Daylight Time", zone: "Europe/Paris" });
    expect(statedZoneOfLine("10:25:28 (maplelmg) (@maplelmg-SLOG@) Start-Date: Thu Jan 09 2022 10:25:28 India Standard Time\r")).toEqual({ name: "India Standard Time", zone: "Asia/Kolkata" });
    expect(statedZoneOfLine(line("Tue Jan 10 2023 10:00:00 CET"))?.zone).toBe("Europe/Paris");
    expect(statedZoneOfLine(line("Mon Jul 10 2023 10:00:00 Mitteleuropäische Sommerzeit"))?.zone).toBe("Europe/Berlin");
    expect(statedZoneOfLine(line("Tue Jan 10 2023 10:00:00 AUS Eastern Daylight Time"))?.zone).toBe("Australia/Sydney");
    expect(statedZoneOfLine(line("Tue Jan 10 2023 10:00:00 America/Sao_Paulo"))?.zone).toBe("America/Sao_Paulo");
    expect(statedZoneOfLine(line("Tue Jan 10 2023 10:00:00 Mars/Olympus_Mons"))?.zone).toBeNull();
  });

  it("does not read a name that stands for several zones, a kind of time the zone does not keep then, or a name it does not know", () => {
    const line = (rest: string) => ` 9:00:00 (lmgrd) Server's System Date and Time: ${rest}`;
    expect(statedZoneOfLine(line("Tue Jan 10 2023 09:00:00 CST"))).toEqual({ name: "CST", zone: null }); // US Central, China, Cuba
    expect(statedZoneOfLine(line("Tue Jan 10 2023 09:00:00 IST"))).toEqual({ name: "IST", zone: null }); // India, Ireland, Israel
    // EST in July: not New York (on EDT then), a zone that keeps EST all year (Panama, Cancún).
    expect(statedZoneOfLine(line("Mon Jul 10 2023 09:00:00 EST"))).toEqual({ name: "EST", zone: null });
    expect(statedZoneOfLine(line("Tue Jan 10 2023 09:00:00 Eastern Daylight Time"))).toEqual({ name: "Eastern Daylight Time", zone: null });
    expect(statedZoneOfLine(line("Mon Jul 10 2023 09:00:00 Heure d’été d’Europe centrale"))).toEqual({ name: "Heure d’été d’Europe centrale", zone: null });
    expect(statedZoneOfLine(" 9:00:00 (lmgrd) TIMESTAMP 1/10/2023")).toBeUndefined();
  });

  it("reads a zone named only by its offset then (`-05`, as tzdata abbreviates Bogotá's): the fixed-offset zone, and the instant", () => {
    // A MATLAB server's log in a public install guide writes `Wed Jul 17 2019 10:55:13 -05`.
    const line = (rest: string) => `10:55:13 (lmgrd) Server's System Date and Time: ${rest}`;
    const bogota = statedZoneOfLine(line("Wed Jul 17 2019 10:55:13 -05"))!;
    expect(bogota).toEqual({ name: "-05", zone: "Etc/GMT+5", at: { ms: -5 * 3_600_000, utc: Date.UTC(2019, 6, 17, 15, 55, 13) } });
    expect(statedZoneOfLine(line("Wed Jul 17 2019 10:55:13 +0530"))?.zone).toBe("Asia/Kolkata");
    expect(statedZoneOfLine(line("Wed Jul 17 2019 10:55:13 +1245"))).toMatchObject({ zone: null, at: { ms: 765 * 60_000 } }); // Chatham keeps DST: no zone keeps it all year
    expect(statedZoneOfLine(line("Wed Jul 17 2019 10:55:13 -99"))).toEqual({ name: "-99", zone: null });
    // Its clock is a zone's when that zone kept the offset then: Bogotá's and (in July) Chicago's, not Madrid's.
    expect(clockAgreement(bogota, "America/Bogota", 2019)).toBe("same");
    expect(clockAgreement(bogota, "America/Chicago", 2019)).toBe("same");
    expect(clockAgreement(bogota, "Europe/Madrid", 2019)).toBe("other");
  });

  it("names only zones this runtime knows", () => {
    const zones = [...Object.values(WINDOWS_ZONES), ...Object.values(OTHER_ZONE_NAMES).map((o) => o.zone)];
    expect(zones.filter((z) => !isValidTimeZone(z))).toEqual([]);
  });

  it("finds the first statement in a real log, or none", async () => {
    expect(await statedZoneOfFile(fixture("debuglog-imsukh-autodesk.log"))).toEqual({ name: "Eastern Daylight Time", zone: "America/New_York" });
    expect(await statedZoneOfFile(fixture("debuglog-joseantoniovilar-matlab-head.log"))).toEqual({ name: "Hora de verano romance", zone: "Europe/Paris" });
    expect(await statedZoneOfFile(fixture("debuglog-sergioedo-autodesk.log"))).toEqual({ name: "Romance Daylight Time", zone: "Europe/Paris" });
    expect(await statedZoneOfFile(fixture("debuglog-justbennet-ansys.log"))).toEqual({ name: "EDT", zone: "America/New_York" });
    // An excerpt from mid-log: its SLOG lines (every few hours) name the zone too.
    expect(await statedZoneOfFile(fixture("debuglog-joseantoniovilar-matlab-tail.log"))).toEqual({ name: "Hora de verano romance", zone: "Europe/Paris" });
    expect(await statedZoneOfFile(fixture("debuglog-synthetic-dst-fallback.log"))).toBeUndefined();
  });

  it("finds a statement past the first read, on a line cut by the read's end, in the file's encoding (synthetic)", async () => {
    const file = join(dir, "late.log");
    const filler = ' 9:00:00 (MLM) OUT: "MATLAB" ann@pc1  \n'.repeat(30_000); // ~1.1 MiB
    const head = filler.slice(0, filler.lastIndexOf("\n", 1024 * 1024 - 30) + 1); // the statement runs across 1 MiB
    const text = head + " 9:30:00 (lmgrd) Server's System Date and Time: Mon Jul 10 2023 09:30:00 Hora estándar romance\n" +
      " 9:31:00 (lmgrd) Server's System Date and Time: Mon Jan 09 2023 09:31:00 Hora estándar romance\n";
    await writeFile(file, Buffer.from(text, "latin1"));
    // July is summer time in Paris: the first statement is not believed; the second is.
    expect(await statedZoneOfFile(file, "windows-1252")).toEqual({ name: "Hora estándar romance", zone: "Europe/Paris" });
  });
});

describe("parse and backfill read a copied log in the zone it states", () => {
  const LOG = fixture("debuglog-imsukh-autodesk.log"); // a server in New York (Eastern Daylight Time)
  const bodies = async (opts: { timezone?: string }) => {
    const out: string[] = [];
    for await (const r of recordsFromFile("flexlm-debuglog", LOG, opts)) out.push(JSON.stringify(r));
    return out;
  };

  it("parse without --timezone reads it as New York's, whatever this machine's zone; --timezone still wins, and the stated name shows", async () => {
    const newYork = await bodies({ timezone: "America/New_York" });
    const tokyo = await bodies({ timezone: "Asia/Tokyo" });
    expect(newYork).not.toEqual(tokyo);
    const parsed = await cli(["parse", "--source", "flexlm-debuglog", "--file", LOG]);
    expect(parsed.status).toBe(0);
    expect(parsed.stdout.trim().split("\n")).toEqual(newYork);
    expect(JSON.parse(parsed.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: "America/New_York", timezone_from: "stated", timezone_stated: "Eastern Daylight Time", timezone_stated_zone: "America/New_York" });
    const given = await cli(["parse", "--source", "flexlm-debuglog", "--file", LOG, "--timezone", "Asia/Tokyo"]);
    expect(given.stdout.trim().split("\n")).toEqual(tokyo);
    expect(JSON.parse(given.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: "Asia/Tokyo", timezone_from: "option", timezone_stated: "Eastern Daylight Time", timezone_stated_zone: "America/New_York" });
  });

  it("backfill appends what parse prints, and says where the zone came from", async () => {
    const state = join(dir, "backfill");
    await enrolledState(state);
    const r = await cli(["backfill", "--source", "flexlm-debuglog", "--file", LOG, "--state", state]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('read in America/New_York, as the log names its zone "Eastern Daylight Time"\n');
    const other = join(dir, "backfill-given");
    await enrolledState(other);
    const given = await cli(["backfill", "--source", "flexlm-debuglog", "--file", LOG, "--timezone", "Europe/Berlin", "--state", other]);
    expect(given.stdout).toContain('read in Europe/Berlin as --timezone says; the log names its zone "Eastern Daylight Time" (America/New_York)\n');
  });

  it("a log that names its zone only by an offset (synthetic): this machine's zone if it kept that offset then, else the fixed-offset zone, with a warning", async () => {
    // The New York log with its zone written as an offset, one this machine's zone did not keep then
    // (3 h east of it) and then its own: the EDT of the real log is UTC−4 at its first statement.
    const statedAt = Date.UTC(2018, 6, 27, 19, 49, 7);
    const machine = zoneOffsetMs(statedAt, localTimeZone()) / 3_600_000;
    const east = machine + 3 > 14 ? machine - 3 : machine + 3;
    const name = (h: number) => `${h < 0 ? "-" : "+"}${String(Math.abs(h)).padStart(2, "0")}`;
    const fixed = east === 0 ? "UTC" : `Etc/GMT${east > 0 ? "-" : "+"}${Math.abs(east)}`;
    const log = await readFile(LOG, "utf8");
    const other = join(dir, "offset-other.log"), own = join(dir, "offset-own.log");
    await writeFile(other, log.replaceAll("Eastern Daylight Time", name(east)));
    await writeFile(own, log.replaceAll("Eastern Daylight Time", name(machine)));
    const parsed = await cli(["parse", "--source", "flexlm-debuglog", "--file", other]);
    expect(parsed.status).toBe(0);
    expect(JSON.parse(parsed.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: fixed, timezone_from: "stated", timezone_stated: name(east), timezone_stated_zone: fixed });
    expect(JSON.parse(parsed.stderr.trim().split("\n").at(-1)!).timezone_warning).toContain("give it with --timezone");
    expect(parsed.stdout.trim().split("\n")).toEqual(await bodies({ timezone: fixed }));
    const mine = await cli(["parse", "--source", "flexlm-debuglog", "--file", own]);
    expect(JSON.parse(mine.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: localTimeZone(), timezone_from: "machine", timezone_stated: name(machine) });
    const state = join(dir, "backfill-offset");
    await enrolledState(state);
    const r = await cli(["backfill", "--source", "flexlm-debuglog", "--file", other, "--state", state]);
    expect(r.stdout).toContain(`read in ${fixed}, as the log names its zone "${name(east)}"; the log names its zone only by its offset then`);
  });

  it("a log that names no zone it can read is still read in this machine's zone, and says so", async () => {
    const file = join(dir, "unknown-zone.log");
    const log = await readFile(LOG, "utf8");
    await writeFile(file, log.replaceAll("Eastern Daylight Time", "Hora de verano del este"));
    const parsed = await cli(["parse", "--source", "flexlm-debuglog", "--file", file]);
    expect(JSON.parse(parsed.stderr.trim().split("\n").at(-1)!)).toMatchObject({ timezone: localTimeZone(), timezone_from: "machine", timezone_stated: "Hora de verano del este", timezone_stated_zone: null });
  });
});
