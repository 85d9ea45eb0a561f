// The time zone a FlexLM debug log names (FORMATS.md §1, "Time zone"): at each start lmgrd writes
// `Server's System Date and Time: Fri Jul 27 2018 15:49:07 Eastern Daylight Time`, and the SLOG
// lines `Start-Date:` / `Time:` carry the same name — Windows' name of the zone (in the server's
// language), or the abbreviation on Unix (`CEST`). A file copied from a server elsewhere is read in
// that zone when no --timezone is given, not in this machine's (a guess that is wrong by hours).
//
// Only names that stand for one set of rules are read: Windows' names (each is one rule set; its
// zone here is CLDR's `001` zone for it), the Spanish `Hora de verano/estándar romance` seen in a
// real log and the German `Mitteleuropäische (Sommer)zeit`, IANA names, and Unix abbreviations that
// name one zone's rules (`EDT`, `CEST`; not `CST` or `IST`, which name several). The name must
// agree with the zone at the stated time (a `… Daylight Time` while that zone keeps standard time
// is not believed). Any other name is reported, not used. The scan (firstStatement) and the clock
// comparisons serve an RLM report log's stated offset too (rlm-timezone.ts).
import { open } from "node:fs/promises";
import { isValidTimeZone, wallTimeToUtc, zoneOffsetMs, type WallTime } from "../../shared/time/zoned.ts";
import { MONTHS } from "./flexlm-lifecycle.ts";

/** Bytes from the start of a file searched for a statement (each start and every SLOG line states it). */
export const STATED_ZONE_SCAN_BYTES = 64 * 1024 * 1024;
const READ_BYTES = 1024 * 1024;

// Windows' standard-time names → CLDR windowsZones `001` zone. The daylight name is the same with
// "Daylight" for "Standard".
export const WINDOWS_ZONES: Readonly<Record<string, string>> = {
  "Dateline Standard Time": "Etc/GMT+12", "Aleutian Standard Time": "America/Adak", "Hawaiian Standard Time": "Pacific/Honolulu",
  "Marquesas Standard Time": "Pacific/Marquesas", "Alaskan Standard Time": "America/Anchorage", "Pacific Standard Time (Mexico)": "America/Tijuana",
  "Pacific Standard Time": "America/Los_Angeles", "US Mountain Standard Time": "America/Phoenix", "Mountain Standard Time": "America/Denver",
  "Central America Standard Time": "America/Guatemala", "Central Standard Time": "America/Chicago", "Easter Island Standard Time": "Pacific/Easter",
  "Central Standard Time (Mexico)": "America/Mexico_City", "Canada Central Standard Time": "America/Regina", "SA Pacific Standard Time": "America/Bogota",
  "Eastern Standard Time (Mexico)": "America/Cancun", "Eastern Standard Time": "America/New_York", "Haiti Standard Time": "America/Port-au-Prince",
  "Cuba Standard Time": "America/Havana", "US Eastern Standard Time": "America/Indiana/Indianapolis", "Turks And Caicos Standard Time": "America/Grand_Turk",
  "Paraguay Standard Time": "America/Asuncion", "Atlantic Standard Time": "America/Halifax", "Venezuela Standard Time": "America/Caracas",
  "Central Brazilian Standard Time": "America/Cuiaba", "SA Western Standard Time": "America/La_Paz", "Pacific SA Standard Time": "America/Santiago",
  "Newfoundland Standard Time": "America/St_Johns", "Tocantins Standard Time": "America/Araguaina", "E. South America Standard Time": "America/Sao_Paulo",
  "SA Eastern Standard Time": "America/Cayenne", "Argentina Standard Time": "America/Argentina/Buenos_Aires", "Montevideo Standard Time": "America/Montevideo",
  "Magallanes Standard Time": "America/Punta_Arenas", "Saint Pierre Standard Time": "America/Miquelon", "Bahia Standard Time": "America/Bahia",
  "Azores Standard Time": "Atlantic/Azores", "Cape Verde Standard Time": "Atlantic/Cape_Verde", "GMT Standard Time": "Europe/London",
  "Greenwich Standard Time": "Atlantic/Reykjavik", "Sao Tome Standard Time": "Africa/Sao_Tome", "Morocco Standard Time": "Africa/Casablanca",
  "W. Europe Standard Time": "Europe/Berlin", "Central Europe Standard Time": "Europe/Budapest", "Romance Standard Time": "Europe/Paris",
  "Central European Standard Time": "Europe/Warsaw", "W. Central Africa Standard Time": "Africa/Lagos", "Jordan Standard Time": "Asia/Amman",
  "GTB Standard Time": "Europe/Bucharest", "Middle East Standard Time": "Asia/Beirut", "Egypt Standard Time": "Africa/Cairo",
  "E. Europe Standard Time": "Europe/Chisinau", "Syria Standard Time": "Asia/Damascus", "West Bank Standard Time": "Asia/Hebron",
  "South Africa Standard Time": "Africa/Johannesburg", "FLE Standard Time": "Europe/Kyiv", "Israel Standard Time": "Asia/Jerusalem",
  "Kaliningrad Standard Time": "Europe/Kaliningrad", "Sudan Standard Time": "Africa/Khartoum", "Libya Standard Time": "Africa/Tripoli",
  "Namibia Standard Time": "Africa/Windhoek", "Arabic Standard Time": "Asia/Baghdad", "Turkey Standard Time": "Europe/Istanbul",
  "Arab Standard Time": "Asia/Riyadh", "Belarus Standard Time": "Europe/Minsk", "Russian Standard Time": "Europe/Moscow",
  "E. Africa Standard Time": "Africa/Nairobi", "Iran Standard Time": "Asia/Tehran", "Arabian Standard Time": "Asia/Dubai",
  "Azerbaijan Standard Time": "Asia/Baku", "Mauritius Standard Time": "Indian/Mauritius", "Georgian Standard Time": "Asia/Tbilisi",
  "Caucasus Standard Time": "Asia/Yerevan", "Afghanistan Standard Time": "Asia/Kabul", "West Asia Standard Time": "Asia/Tashkent",
  "Ekaterinburg Standard Time": "Asia/Yekaterinburg", "Pakistan Standard Time": "Asia/Karachi", "India Standard Time": "Asia/Kolkata",
  "Sri Lanka Standard Time": "Asia/Colombo", "Nepal Standard Time": "Asia/Kathmandu", "Bangladesh Standard Time": "Asia/Dhaka",
  "Omsk Standard Time": "Asia/Omsk", "Myanmar Standard Time": "Asia/Yangon", "SE Asia Standard Time": "Asia/Bangkok",
  "North Asia Standard Time": "Asia/Krasnoyarsk", "N. Central Asia Standard Time": "Asia/Novosibirsk", "China Standard Time": "Asia/Shanghai",
  "North Asia East Standard Time": "Asia/Irkutsk", "Singapore Standard Time": "Asia/Singapore", "W. Australia Standard Time": "Australia/Perth",
  "Taipei Standard Time": "Asia/Taipei", "Ulaanbaatar Standard Time": "Asia/Ulaanbaatar", "Tokyo Standard Time": "Asia/Tokyo",
  "Korea Standard Time": "Asia/Seoul", "Yakutsk Standard Time": "Asia/Yakutsk", "Cen. Australia Standard Time": "Australia/Adelaide",
  "AUS Central Standard Time": "Australia/Darwin", "E. Australia Standard Time": "Australia/Brisbane", "AUS Eastern Standard Time": "Australia/Sydney",
  "West Pacific Standard Time": "Pacific/Port_Moresby", "Tasmania Standard Time": "Australia/Hobart", "Vladivostok Standard Time": "Asia/Vladivostok",
  "Magadan Standard Time": "Asia/Magadan", "Central Pacific Standard Time": "Pacific/Guadalcanal", "New Zealand Standard Time": "Pacific/Auckland",
  "Fiji Standard Time": "Pacific/Fiji", "Tonga Standard Time": "Pacific/Tongatapu", "Samoa Standard Time": "Pacific/Apia",
  "Line Islands Standard Time": "Pacific/Kiritimati", "Coordinated Universal Time": "UTC",
};

// Names that are not "X Standard/Daylight Time": Windows in Spanish (a real log's) and German, Unix abbreviations of one rule set.
export const OTHER_ZONE_NAMES: Readonly<Record<string, { zone: string; daylight: boolean }>> = {
  "Hora de verano romance": { zone: "Europe/Paris", daylight: true }, "Hora estándar romance": { zone: "Europe/Paris", daylight: false },
  // German Windows names every central European zone so; they all keep the EU's clock.
  "Mitteleuropäische Sommerzeit": { zone: "Europe/Berlin", daylight: true }, "Mitteleuropäische Zeit": { zone: "Europe/Berlin", daylight: false },
  EST: { zone: "America/New_York", daylight: false }, EDT: { zone: "America/New_York", daylight: true }, CDT: { zone: "America/Chicago", daylight: true },
  MDT: { zone: "America/Denver", daylight: true }, PST: { zone: "America/Los_Angeles", daylight: false }, PDT: { zone: "America/Los_Angeles", daylight: true },
  AKST: { zone: "America/Anchorage", daylight: false }, AKDT: { zone: "America/Anchorage", daylight: true }, HST: { zone: "Pacific/Honolulu", daylight: false },
  CET: { zone: "Europe/Paris", daylight: false }, CEST: { zone: "Europe/Paris", daylight: true }, EEST: { zone: "Europe/Bucharest", daylight: true },
  WET: { zone: "Europe/Lisbon", daylight: false }, WEST: { zone: "Europe/Lisbon", daylight: true }, BST: { zone: "Europe/London", daylight: true },
  JST: { zone: "Asia/Tokyo", daylight: false }, KST: { zone: "Asia/Seoul", daylight: false }, AEDT: { zone: "Australia/Sydney", daylight: true },
  NZST: { zone: "Pacific/Auckland", daylight: false }, NZDT: { zone: "Pacific/Auckland", daylight: true }, UTC: { zone: "UTC", daylight: false },
};

/**
 * What a log says about its zone: the name as written, and the zone it stands for (null: a name not
 * read here, or an offset no one zone is told by). `offset`: a log that states a UTC offset instead
 * (RLM's TIMEZONE line, rlm-timezone.ts) — its standard time's (ms east of UTC), whether the zone
 * keeps daylight saving time, the year it was stated in and the wall time of the START it follows.
 */
export interface StatedZone {
  name: string;
  zone: string | null;
  offset?: { ms: number; daylight: boolean; year: number; start?: WallTime };
  /** A log that names its zone by the offset it kept then (tzdata's abbreviation for a zone without a
   *  letter one: `-05` for Bogotá): that offset (ms east of UTC) and the instant it was stated at. Whether
   *  the zone keeps daylight saving time it does not say; `zone` is the fixed-offset zone. */
  at?: { ms: number; utc: number };
}

// `-05`, `+0530`: the offset as tzdata abbreviates a zone that has no letters for it (strftime %Z).
const NUMERIC_NAME = /^([+-])(\d{2})(\d{2})?$/;
const PART_HOUR_ZONES: Readonly<Record<number, string>> = {
  [-570]: "Pacific/Marquesas", 210: "Asia/Tehran", 270: "Asia/Kabul", 330: "Asia/Kolkata", 345: "Asia/Kathmandu",
  390: "Asia/Yangon", 525: "Australia/Eucla", 570: "Australia/Darwin",
};

/** The zone that keeps UTC+`east` minutes all through `year` and the next, or null. */
export function fixedOffsetZone(east: number, year: number): string | null {
  const zone = east === 0 ? "UTC" : east % 60 === 0 ? `Etc/GMT${east > 0 ? "-" : "+"}${Math.abs(east) / 60}` : PART_HOUR_ZONES[east];
  if (zone === undefined || !isValidTimeZone(zone)) return null;
  const { low, high } = offsetRange(zone, year);
  return low === high && low === east * 60_000 ? zone : null;
}

const STATEMENT = /(?:System Date and Time|Start-Date|\(@[^)]*\) Time): \w{3} (\w{3}) (\d{1,2}) (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) (\S[^\r\n]*?)\s*$/;
const NEEDLES = ["System Date and Time: ", "Start-Date: ", "-SLOG@) Time: "].map((n) => Buffer.from(n, "latin1"));

/** The zone a statement's line names (see the module comment), or undefined when the line is no statement. */
export function statedZoneOfLine(line: string): StatedZone | undefined {
  const m = STATEMENT.exec(line);
  if (!m) return undefined;
  const name = m[7]!;
  const month = MONTHS.indexOf(m[1]!) + 1;
  const wall = { year: Number(m[3]), month, day: Number(m[2]), hour: Number(m[4]), minute: Number(m[5]), second: Number(m[6]) };
  const numeric = NUMERIC_NAME.exec(name);
  if (numeric && month > 0) {
    const east = (numeric[1] === "-" ? -1 : 1) * (Number(numeric[2]) * 60 + Number(numeric[3] ?? 0));
    if (east >= -720 && east <= 840) {
      const ms = east * 60_000;
      return { name, zone: fixedOffsetZone(east, wall.year), at: { ms, utc: Date.UTC(wall.year, month - 1, wall.day, wall.hour, wall.minute, wall.second) - ms } };
    }
  }
  return { name, zone: month > 0 ? zoneOfName(name, wall) : null };
}

/** The zone `name` stands for, if its kind of time (daylight or standard) is the zone's at `wall`. */
function zoneOfName(name: string, wall: WallTime): string | null {
  if (name.includes("/") && isValidTimeZone(name)) return name; // an IANA name: one rule set (a simulator writes it)
  let zone: string | undefined, daylight: boolean;
  const windows = WINDOWS_ZONES[name] ?? WINDOWS_ZONES[name.replace(" Daylight Time", " Standard Time")];
  if (windows !== undefined) {
    zone = windows;
    daylight = name.includes(" Daylight Time");
  } else {
    const other = OTHER_ZONE_NAMES[name];
    if (other === undefined) return null;
    ({ zone, daylight } = other);
  }
  if (!isValidTimeZone(zone)) return null;
  // Standard time is the year's lower offset; a zone without DST keeps it all year.
  const at = wallTimeToUtc(wall, zone);
  const standard = Math.min(zoneOffsetMs(Date.UTC(wall.year, 0, 15), zone), zoneOffsetMs(Date.UTC(wall.year, 6, 15), zone));
  return (zoneOffsetMs(at, zone) > standard) === daylight ? zone : null;
}

/** Whether two zones keep the same clock through the year `year` and the next (a day at a time: DST changes are never closer). */
export function sameClock(a: string, b: string, year: number): boolean {
  if (a === b) return true;
  for (let t = Date.UTC(year, 0, 1), end = Date.UTC(year + 2, 0, 1); t < end; t += 86_400_000) {
    if (zoneOffsetMs(t, a) !== zoneOffsetMs(t, b)) return false;
  }
  return true;
}

/** The lowest and the highest UTC offset (ms) `zone` keeps through `year` and the next, a day at a time. */
export function offsetRange(zone: string, year: number): { low: number; high: number } {
  let low = Infinity, high = -Infinity;
  for (let t = Date.UTC(year, 0, 1), end = Date.UTC(year + 2, 0, 1); t < end; t += 86_400_000) {
    const o = zoneOffsetMs(t, zone);
    if (o < low) low = o;
    if (o > high) high = o;
  }
  return { low, high };
}

/**
 * Whether the clock a log states is `zone`'s over `year` and the next. A stated offset with daylight
 * saving time is `zone`'s when the zone's standard time (its lower offset) is that offset and it
 * keeps DST — which rules, an offset cannot tell; without DST, when the zone keeps that offset all
 * along — or (`standard_at_start`) when the zone keeps DST but was on standard time at the START the
 * line follows: the flag may be whether DST was in force then (no real log seen tells), and a
 * server's own log must not be taken for another's. A name not read here is no other clock.
 */
export function clockAgreement(stated: StatedZone, zone: string, year: number): "same" | "other" | "standard_at_start" {
  if (stated.at) return zoneOffsetMs(stated.at.utc, zone) === stated.at.ms ? "same" : "other"; // all an offset then can tell
  const o = stated.offset;
  if (!o) return stated.zone !== null && !sameClock(stated.zone, zone, year) ? "other" : "same";
  const { low, high } = offsetRange(zone, year);
  if (low !== o.ms) return "other";
  if (o.daylight || high === low) return o.daylight === (high !== low) ? "same" : "other";
  return o.start && zoneOffsetMs(wallTimeToUtc(o.start, zone), zone) === low ? "standard_at_start" : "other";
}

/** Whether the clock a log states is not `zone`'s (clockAgreement). */
export function clockDiffers(stated: StatedZone, zone: string, year: number): boolean {
  return clockAgreement(stated, zone, year) === "other";
}

/** `+05:30`: a UTC offset (ms east), as RFC 3339 writes it. */
export function offsetText(ms: number): string {
  const m = Math.abs(ms) / 60_000;
  return `${ms < 0 ? "-" : "+"}${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

/** What a log says of its server's clock, in words for a message ("names its server's zone …"). */
export function describeStated(stated: StatedZone): string {
  const o = stated.offset;
  if (stated.at) return `names its server's zone only by its offset then, "${stated.name}" (UTC${offsetText(stated.at.ms)}; whether that zone keeps daylight saving time, the log does not say)`;
  if (!o) return `names its server's zone "${stated.name}"${stated.zone ? ` (${stated.zone})` : ""}`;
  return `states its server's clock as UTC${offsetText(o.ms)} ${o.daylight ? "with" : "without"} daylight saving time ("TIMEZONE ${stated.name}")`;
}

/**
 * The first zone statement in the first STATED_ZONE_SCAN_BYTES of a FlexLM debug log that names a zone
 * read here, else the first statement (its zone null), else undefined.
 * `encoding`: the file's (an ASCII-compatible one: line files need one); a statement's line is decoded with it.
 */
export function statedZoneOfFile(file: string, encoding = "utf-8"): Promise<StatedZone | undefined> {
  return firstStatement(file, encoding, NEEDLES, statedZoneOfLine, (s) => s.zone !== null);
}

/**
 * The first statement in the first STATED_ZONE_SCAN_BYTES of `file` that `enough` takes, else the
 * first one read, else undefined. `read` gets, in the file's order, each line that holds one of
 * `needles` (a line holding two is read twice) and tells what it states, if anything.
 */
export async function firstStatement(file: string, encoding: string, needles: Buffer[], read: (line: string) => StatedZone | undefined, enough: (s: StatedZone) => boolean): Promise<StatedZone | undefined> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(READ_BYTES);
    const decoder = new TextDecoder(encoding);
    let first: StatedZone | undefined;
    for (let position = 0; position < STATED_ZONE_SCAN_BYTES; ) {
      const { bytesRead } = await handle.read(buffer, 0, READ_BYTES, position);
      if (bytesRead === 0) break;
      // Whole lines only: the next read starts at the unfinished last one.
      const lastLf = bytesRead < READ_BYTES ? bytesRead - 1 : buffer.lastIndexOf(10, bytesRead - 1);
      const lines = buffer.subarray(0, lastLf < 0 ? bytesRead : lastLf + 1);
      position += lines.length;
      const hits = needles.map((needle) => lines.indexOf(needle));
      for (;;) {
        let i = -1;
        for (let k = 0; k < hits.length; k++) if (hits[k]! >= 0 && (i < 0 || hits[k]! < hits[i]!)) i = k;
        if (i < 0) break;
        const at = hits[i]!;
        const stop = lines.indexOf(10, at);
        const stated = read(decoder.decode(lines.subarray(lines.lastIndexOf(10, at) + 1, stop < 0 ? lines.length : stop)));
        if (stated && enough(stated)) return stated;
        first ??= stated;
        hits[i] = lines.indexOf(needles[i]!, at + 1);
      }
    }
    return first;
  } finally {
    await handle.close();
  }
}
