// Billing periods (DESIGN.md §5): they start at 00:00 local on the contract's start date and
// repeat every month/quarter/year counted from that anchor day, clamped to shorter months
// (Jan 31 → Feb 28 → Mar 31). Stand-in until shared/pricing owns periods.
import { wallTimeAt, wallTimeToUtc } from "../../shared/time/zoned.ts";
import type { PeriodKind } from "./terms.ts";

export interface Period { start: number; end: number; start_date: string }
interface Anchor { start_date: string; timezone: string; period: PeriodKind }

const monthsPer: Record<PeriodKind, number> = { month: 1, quarter: 3, year: 12 };

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Start of the k-th period after the anchor (k may be negative): [ms, YYYY-MM-DD]. */
function periodStart(anchor: Anchor, k: number): [number, string] {
  const [y, m, d] = anchor.start_date.split("-").map(Number) as [number, number, number];
  const total = m - 1 + k * monthsPer[anchor.period];
  const year = y + Math.floor(total / 12);
  const month = (((total % 12) + 12) % 12) + 1;
  const day = Math.min(d, daysInMonth(year, month));
  const ms = wallTimeToUtc({ year, month, day, hour: 0, minute: 0, second: 0 }, anchor.timezone);
  return [ms, `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`];
}

/** The period containing instant `t`. */
export function periodAt(t: number, anchor: Anchor): Period {
  const [y, m] = anchor.start_date.split("-").map(Number) as [number, number];
  const w = wallTimeAt(t, anchor.timezone);
  let k = Math.floor(((w.year - y) * 12 + (w.month - m)) / monthsPer[anchor.period]);
  while (periodStart(anchor, k)[0] > t) k--;
  while (periodStart(anchor, k + 1)[0] <= t) k++;
  const [start, start_date] = periodStart(anchor, k);
  return { start, end: periodStart(anchor, k + 1)[0], start_date };
}
