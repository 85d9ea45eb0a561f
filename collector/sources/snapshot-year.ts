// Dates printed without a year (lmstat `start Mon 2/10 0:10`, rlmstat `at 11/01 09:01`):
// the year comes from the time the output was taken, with roll-over and a day-of-week check.
import { wallTimeAt, type WallTime } from "../../shared/time/zoned.ts";
import type { WallClock } from "./wall-clock.ts";

export const WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];

export interface YearlessStamp {
  /** Day-of-week token as printed (`Mon`), when the format prints one. */
  weekday?: string;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second?: number;
}

function wallMs(w: WallTime): number {
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
}

function withYear(s: YearlessStamp, year: number): WallTime {
  return { year, month: s.month, day: s.day, hour: s.hour, minute: s.minute, second: s.second ?? 0 };
}

function weekdayMatches(s: YearlessStamp, year: number): boolean {
  const dow = new Date(Date.UTC(year, s.month - 1, s.day)).getUTCDay();
  return WEEKDAYS[dow] === s.weekday?.slice(0, 3).toLowerCase();
}

/**
 * How far after the anchor a stamp may lie and still be read as after it, not a year before: the
 * anchor is often another machine's clock (lmutil's host prints the lmstat header; rlmstat
 * without statistics is anchored at the poll or file time), and a server clock ahead of it, or
 * set in another zone, must not turn a checkout of the last minutes into one held for a year.
 */
const CLOCK_SKEW_MS = 86_400_000;

/**
 * The year of `stamp`, printed by a server whose clock read `anchor`: the latest year that puts
 * the stamp at most CLOCK_SKEW_MS after the anchor — the anchor's year, the year before (a 12/31
 * start read on 1/2), or the year after (a 1/1 00:00 start read at 12/31 23:59 by a clock behind
 * the server's). When the weekday token fits exactly one of these years it decides instead, so a
 * start a minute "after" the header is not pushed back a whole year.
 */
export function resolveYear(stamp: YearlessStamp, anchor: WallTime): number {
  const latest = wallMs(anchor) + CLOCK_SKEW_MS;
  const nextYear = wallMs(withYear(stamp, anchor.year + 1)) <= latest;
  const ruled = nextYear ? anchor.year + 1 : wallMs(withYear(stamp, anchor.year)) <= latest ? anchor.year : anchor.year - 1;
  if (stamp.weekday) {
    const years = nextYear ? [anchor.year + 1, anchor.year, anchor.year - 1] : [anchor.year, anchor.year - 1];
    const fitting = years.filter((y) => weekdayMatches(stamp, y));
    if (fitting.length === 1) return fitting[0]!;
  }
  return ruled;
}

/** UTC ms of a year-less server-local stamp, anchored at `anchor` (server wall clock). */
export function yearlessToUtc(stamp: YearlessStamp, anchor: WallTime, clock: WallClock): number {
  const year = resolveYear(stamp, anchor);
  return clock.toUtc({ year, month: stamp.month, day: stamp.day }, stamp.hour * 3600 + stamp.minute * 60 + (stamp.second ?? 0));
}

/** The server's wall clock at collector instant `ms`: the anchor when the output has none. */
export function anchorAt(ms: number, zone: string): WallTime {
  return wallTimeAt(ms, zone);
}

/** `Nov` / `November` → 11, or undefined. */
export function monthNumber(name: string): number | undefined {
  const i = MONTHS.indexOf(name.slice(0, 3).toLowerCase());
  return i < 0 ? undefined : i + 1;
}

/** `YYYY-MM-DD HH:MM[:SS]` (LM-X, DSLS) → wall time, or undefined. */
export function isoWallTime(text: string): WallTime | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!m) return undefined;
  return { year: +m[1]!, month: +m[2]!, day: +m[3]!, hour: +m[4]!, minute: +m[5]!, second: m[6] ? +m[6] : 0 };
}

/** `Tue Nov  3 11:34:40 2020` (ctime style: lsmon, rlmstat) → wall time, or undefined. */
export function ctimeWallTime(text: string): WallTime | undefined {
  const m = /^\w{3}\s+(\w{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})\s+(\d{4})$/.exec(text.trim());
  const month = m ? monthNumber(m[1]!) : undefined;
  if (!m || month === undefined) return undefined;
  return { year: +m[6]!, month, day: +m[2]!, hour: +m[3]!, minute: +m[4]!, second: +m[5]! };
}
