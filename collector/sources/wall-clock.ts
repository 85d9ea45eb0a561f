// Server-local wall-clock dates and times → UTC ms, for logs that print local time without a zone.
// A local time that occurs twice (the hour repeated when DST ends) has two instants; callers that
// know the order of lines pick the second (`later`). Intl is far too slow to call for every line of
// a 1 GB log: a day without a DST change is one offset; the day of a change is cached per quarter
// hour of local time (every rule in the tz database moves clocks at a multiple of 15 minutes).
import { wallTimeToUtc, zoneOffsetMs } from "../../shared/time/zoned.ts";

/** A calendar day, as printed by the server. */
export interface LocalDate { year: number; month: number; day: number }

export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Whole days from `a` to `b`. */
export function daysBetween(a: LocalDate, b: LocalDate): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / 86_400_000);
}

export function sameDate(a: LocalDate, b: LocalDate): boolean {
  return a.year === b.year && a.month === b.month && a.day === b.day;
}

/** Whether the numbers form a real calendar day (rejects 2/30, 13/1). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

const SLOT_S = 900;

export class WallClock {
  readonly zone: string;
  /** Per local day: its UTC offset when the day has no DST change, else null (then per quarter hour). */
  private readonly days = new Map<number, number | null>();
  /** Per local quarter hour of a day with a DST change: its first instant, and the second one when that quarter repeats. */
  private readonly slots = new Map<number, { early: number; late: number }>();

  constructor(zone: string) {
    this.zone = zone;
  }

  /** UTC ms (whole seconds) of `date` at `secondOfDay` local seconds (0…86399); the earlier instant when it occurs twice. */
  toUtc(date: LocalDate, secondOfDay: number): number {
    const offset = this.dayOffset(date);
    if (offset !== null) return Date.UTC(date.year, date.month - 1, date.day) + secondOfDay * 1000 - offset;
    return this.slot(date, secondOfDay).early + (secondOfDay % SLOT_S) * 1000;
  }

  /** UTC ms of 00:00 local on `date` when the day has no DST change (then a time of day is that plus its seconds), else null. */
  midnight(date: LocalDate): number | null {
    const offset = this.dayOffset(date);
    return offset === null ? null : Date.UTC(date.year, date.month - 1, date.day) - offset;
  }

  /** The later instant of a local time that occurs twice (DST fall-back); else the only one. */
  later(date: LocalDate, secondOfDay: number): number {
    if (this.dayOffset(date) !== null) return this.toUtc(date, secondOfDay);
    return this.slot(date, secondOfDay).late + (secondOfDay % SLOT_S) * 1000;
  }

  /** Whether this local time occurs twice. */
  repeats(date: LocalDate, secondOfDay: number): boolean {
    return this.later(date, secondOfDay) !== this.toUtc(date, secondOfDay);
  }

  /** The zone's offset on `date` if it is the same all day (no transition within ±14 h of it). */
  private dayOffset(date: LocalDate): number | null {
    const key = (date.year * 16 + date.month) * 32 + date.day;
    let offset = this.days.get(key);
    if (offset === undefined) {
      const midnight = Date.UTC(date.year, date.month - 1, date.day);
      const before = zoneOffsetMs(midnight - 14 * 3_600_000, this.zone);
      offset = before === zoneOffsetMs(midnight + 38 * 3_600_000, this.zone) ? before : null;
      if (this.days.size > 20_000) this.days.clear();
      this.days.set(key, offset);
    }
    return offset;
  }

  private slot(date: LocalDate, secondOfDay: number): { early: number; late: number } {
    const quarter = Math.floor(secondOfDay / SLOT_S);
    const key = ((date.year * 16 + date.month) * 32 + date.day) * 96 + quarter;
    let slot = this.slots.get(key);
    if (slot === undefined) {
      const hour = Math.floor(quarter / 4);
      const minute = (quarter % 4) * 15;
      const early = wallTimeToUtc({ ...date, hour, minute, second: 0 }, this.zone);
      slot = { early, late: this.secondPass(date, hour, minute, early) };
      if (this.slots.size > 20_000) this.slots.clear();
      this.slots.set(key, slot);
    }
    return slot;
  }

  /** The second instant showing the same wall time as `early`, if the zone repeats it. */
  private secondPass(date: LocalDate, hour: number, minute: number, early: number): number {
    const naive = Date.UTC(date.year, date.month - 1, date.day, hour, minute, 0);
    for (const probe of [naive - 86_400_000, naive + 86_400_000]) {
      const candidate = naive - zoneOffsetMs(probe, this.zone);
      if (candidate > early && zoneOffsetMs(candidate, this.zone) === naive - candidate) return candidate;
    }
    return early;
  }
}
