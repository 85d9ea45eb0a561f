// The clock an RLM report log states (FORMATS.md §3.2): since RLM 12.3 each START is followed by
// `TIMEZONE minutes-west-of-UTC daylight rules # readable`. Read as C's tzset() globals `timezone`
// and `daylight` (both C runtimes have them: the portable way for a server to say its zone): the
// standard time's minutes west of UTC (negative east), and nonzero when the zone keeps daylight
// saving time at all. It may instead be whether DST was in force at the START (Windows' _ftime
// `dstflag`): no real log tells, so a flag 0 at a START on standard time is not taken to contradict
// a zone that keeps DST (stated-zone.ts clockAgreement). `rules` (undocumented) and the comment may
// be missing and are not used.
//
// An offset without DST is exact: the zone is one that keeps it all year (Etc/GMT±N — whose sign
// is the reverse of the offset's — or, for offsets not whole hours, a zone that keeps that offset
// through the log's year and the next). An offset with DST names no zone: New York, Havana and
// Nassau share UTC−05:00 and change on different days; parse-file.ts decides what that means.
import { isValidTimeZone, type WallTime } from "../../shared/time/zoned.ts";
import { firstStatement, fixedOffsetZone, type StatedZone } from "./stated-zone.ts";

const LINE = /^TIMEZONE\s+([+-]?\d{1,4})\s+(\d{1,3})(?:\s+[^\s#]+)?\s*(?:#.*)?$/;
const START = /^START\s+\S+\s+(\d{1,2})\/(\d{1,2})\/(\d{4})\s+(\d{1,2}):(\d{2})/;
const NEEDLES = ["START ", "TIMEZONE "].map((n) => Buffer.from(n, "latin1"));

// Offsets that are not whole hours, and a zone without DST that keeps each today.
/** A TIMEZONE line's offset of standard time (minutes east of UTC: UTC−12 to UTC+14) and its DST flag, or undefined for another shape. */
export function timezoneOfLine(line: string): { east: number; daylight: boolean } | undefined {
  const m = LINE.exec(line.trim());
  if (!m) return undefined;
  const east = 0 - Number(m[1]); // not -0 for "0"
  return east >= -720 && east <= 840 ? { east, daylight: Number(m[2]) !== 0 } : undefined;
}

/**
 * The first readable TIMEZONE line in the first STATED_ZONE_SCAN_BYTES of a report log (the year of
 * the START above it; `year` when none is), else the first one (name only), else undefined.
 */
export function rlmStatedZoneOfFile(file: string, encoding = "utf-8", year = new Date().getUTCFullYear()): Promise<StatedZone | undefined> {
  let start: WallTime | undefined;
  const read = (text: string): StatedZone | undefined => {
    const line = text.trim();
    const m = START.exec(line);
    if (m) start = { year: Number(m[3]), month: Number(m[1]), day: Number(m[2]), hour: Number(m[4]), minute: Number(m[5]), second: 0 };
    if (!line.startsWith("TIMEZONE")) return undefined;
    const name = line.slice("TIMEZONE".length).trim();
    const tz = timezoneOfLine(line);
    if (!tz) return { name, zone: null };
    const y = start?.year ?? year;
    return { name, zone: tz.daylight ? null : fixedOffsetZone(tz.east, y), offset: { ms: tz.east * 60_000, daylight: tz.daylight, year: y, ...(start ? { start } : {}) } };
  };
  return firstStatement(file, encoding, NEEDLES, read, (s) => s.offset !== undefined);
}
