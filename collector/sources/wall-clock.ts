// Server-local wall-clock dates and times → UTC ms, for logs that print local time without a zone.
// Caches one conversion per local hour: DST transitions fall on hour boundaries in the zones
// license servers run in, and Intl is far too slow to call for every line of a 1 GB log.
import { wallTimeToUtc } from "../../shared/time/zoned.ts";

/** A calendar day, as printed by the server. */
export interface LocalDate { year: number; month: number; day: number }

export function addDays(date: LocalDate, days: number): LocalDate {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** Whether the numbers form a real calendar day (rejects 2/30, 13/1). */
export function isCalendarDate(year: number, month: number, day: number): boolean {
  const d = new Date(Date.UTC(year, month - 1, day));
  return d.getUTCFullYear() === year && d.getUTCMonth() === month - 1 && d.getUTCDate() === day;
}

export class WallClock {
  readonly zone: string;
  private readonly hours = new Map<number, number>();

  constructor(zone: string) {
    this.zone = zone;
  }

  /** UTC ms (whole seconds) of `date` at `secondOfDay` local seconds (0…86399) in the zone. */
  toUtc(date: LocalDate, secondOfDay: number): number {
    const hour = Math.floor(secondOfDay / 3600);
    const key = ((date.year * 16 + date.month) * 32 + date.day) * 24 + hour;
    let base = this.hours.get(key);
    if (base === undefined) {
      base = wallTimeToUtc({ ...date, hour, minute: 0, second: 0 }, this.zone);
      if (this.hours.size > 10_000) this.hours.clear();
      this.hours.set(key, base);
    }
    return base + (secondOfDay - hour * 3600) * 1000;
  }
}
