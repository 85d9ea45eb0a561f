// The calendar's sharp edges the calendar guard runs at, and the expected periods there computed
// without the code under test. Pure (no Node APIs): workerd tests import it too.

/** `YYYY-MM-DD` (UTC) of an instant: a contract start on the day its usage begins. */
export function utcDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The calendar's sharp edges, as UTC instants: the first hour of a month (and of a year), the
 *  last hour of a month (a 28-day February, whose end clamps monthly anchors), and a leap day. */
export const GUARD_INSTANTS: ReadonlyArray<{ name: string; at: number }> = [
  { name: "first hour of a month (2027-01-01T00:20Z)", at: Date.UTC(2027, 0, 1, 0, 20) },
  { name: "last hour of a month (2027-02-28T23:40Z)", at: Date.UTC(2027, 1, 28, 23, 40) },
  { name: "29 February (2028-02-29T12:00Z)", at: Date.UTC(2028, 1, 29, 12, 0) },
];

const HOUR = 3_600_000;
const MINUTE = 60_000;

export interface Interval { start: number; end: number }
export interface ExpectedPeriod { start: number; end: number }

/** The UTC calendar month containing `at`. */
export function utcMonthOf(at: number): ExpectedPeriod {
  const d = new Date(at);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** The first period of a monthly UTC contract starting on `date`: to the same day next month,
 *  or that month's last day when it is shorter. */
export function firstMonthOf(date: string): ExpectedPeriod {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const nextMonthDays = new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
  return { start: Date.UTC(y, m - 1, d), end: Date.UTC(y, m, Math.min(d, nextMonthDays)) };
}

export interface CalendarCase {
  /** The contract's start date (UTC zone, monthly periods). */
  start: string;
  intervals: Interval[];
  /** The period open at the instant, and the license-seconds of it these intervals hold. */
  period: ExpectedPeriod;
  license_seconds: number;
}

/**
 * What the date-sensitive tests do, at instant `at`:
 * - `ownDay`: four one-hour intervals from the whole hour 8 h before `at`, in a contract that
 *   starts on the first interval's date — the way tests must place "recent" usage: all of it in
 *   the open period, whatever the day of the month (the first hour of a month included).
 * - `straddle`: twelve minutes either side of the start of `at`'s month, in a contract anchored
 *   on the 1st (2020-01-01): the open period holds only the later twelve minutes.
 */
export function calendarCases(at: number): { ownDay: CalendarCase; straddle: CalendarCase } {
  const from = Math.floor(at / HOUR) * HOUR - 8 * HOUR;
  const month = utcMonthOf(at);
  return {
    ownDay: {
      start: utcDate(from),
      intervals: [0, 1, 2, 3].map((i) => ({ start: from + i * HOUR, end: from + (i + 1) * HOUR })),
      period: firstMonthOf(utcDate(from)),
      license_seconds: 4 * 3600,
    },
    straddle: {
      start: "2020-01-01",
      intervals: [{ start: month.start - 12 * MINUTE, end: month.start }, { start: month.start, end: month.start + 12 * MINUTE }],
      period: month,
      license_seconds: 12 * 60,
    },
  };
}

/** The guard's plan: prepaid tokens, one per license-hour, blocked when they run out. */
export const GUARD_PLAN = {
  model: "token", currency: "USD", unit_name: "token", period: "month", rates: { "*": "1" },
  rounding: { increment_s: 1, minimum_s: 0, grace_s: 0 }, overage: { policy: "block" },
} as const;

/** An instant as the API prints it (RFC 3339 UTC, no zero milliseconds). */
export function apiInstant(ms: number): string {
  return new Date(ms).toISOString().replace(".000Z", "Z");
}
