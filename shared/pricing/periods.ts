// Calendar periods of a contract (DESIGN §5): anchored at 00:00 local on the start date in the
// contract's IANA zone, repeating by month/quarter/year counted from the original anchor day and
// clamped to shorter months (Jan 31 → Feb 28/29 → Mar 31). Period k starts at anchor + k steps.
import { wallTimeAt, wallTimeToUtc } from "../time/zoned.ts";
import { PricingError } from "./errors.ts";

export type PeriodUnit = "month" | "quarter" | "year";

export interface PeriodContract {
  /** `YYYY-MM-DD`, the local date the first period starts. */
  start: string;
  timezone: string;
  period: PeriodUnit;
  /** Hours after a period's end before its statement freezes; default 72. */
  statement_grace_h?: number;
}

export interface Period {
  /** 0 for the period starting on the contract start date. */
  index: number;
  /** UTC ms, inclusive. */
  start: number;
  /** UTC ms, exclusive (the next period's start). */
  end: number;
  /** Local start date `YYYY-MM-DD`. */
  start_date: string;
}

const MONTHS: Record<PeriodUnit, number> = { month: 1, quarter: 3, year: 12 };
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
export const DEFAULT_STATEMENT_GRACE_H = 72;

interface Calendar { year: number; month: number; day: number; step: number; zone: string; starts: Map<number, number> }
const calendars = new Map<string, Calendar>();

function calendar(c: PeriodContract): Calendar {
  const key = `${c.start}|${c.timezone}|${c.period}`;
  let cal = calendars.get(key);
  if (!cal) {
    const m = DATE.exec(c.start);
    const [year, month, day] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
    if (!m || month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
      throw new PricingError("invalid_input", `contract.start "${c.start}" is not a YYYY-MM-DD date`);
    }
    if (MONTHS[c.period] === undefined) throw new PricingError("invalid_input", `contract.period "${c.period}" is not month, quarter or year`);
    cal = { year, month, day, step: MONTHS[c.period], zone: c.timezone, starts: new Map() };
    if (calendars.size > 1000) calendars.clear();
    calendars.set(key, cal);
  }
  return cal;
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function localStart(cal: Calendar, index: number): { year: number; month: number; day: number } {
  const months = cal.year * 12 + (cal.month - 1) + index * cal.step;
  const year = Math.floor(months / 12);
  const month = months - year * 12 + 1;
  return { year, month, day: Math.min(cal.day, daysIn(year, month)) };
}

function startOf(cal: Calendar, index: number): number {
  let ms = cal.starts.get(index);
  if (ms === undefined) {
    ms = wallTimeToUtc({ ...localStart(cal, index), hour: 0, minute: 0, second: 0 }, cal.zone);
    cal.starts.set(index, ms);
  }
  return ms;
}

/** Period number `index` of the contract. */
export function periodByIndex(contract: PeriodContract, index: number): Period {
  const cal = calendar(contract);
  const d = localStart(cal, index);
  const start_date = `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;
  return { index, start: startOf(cal, index), end: startOf(cal, index + 1), start_date };
}

/** Index of the period containing instant `ts` (negative before the contract start). */
export function periodIndexAt(contract: PeriodContract, ts: number): number {
  const cal = calendar(contract);
  const w = wallTimeAt(ts, cal.zone);
  let k = Math.floor(((w.year - cal.year) * 12 + (w.month - cal.month)) / cal.step);
  while (startOf(cal, k) > ts) k--;
  while (startOf(cal, k + 1) <= ts) k++;
  return k;
}

/** The period containing instant `ts`. */
export function periodAt(contract: PeriodContract, ts: number): Period {
  return periodByIndex(contract, periodIndexAt(contract, ts));
}

/** The period whose local start date is `date` (`YYYY-MM-DD`); PricingError not_a_period_start otherwise. */
export function periodStarting(contract: PeriodContract, date: string): Period {
  const m = DATE.exec(date);
  if (m) {
    const noon = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 12);
    const p = periodAt(contract, noon);
    for (const candidate of [periodByIndex(contract, p.index - 1), p, periodByIndex(contract, p.index + 1)]) if (candidate.start_date === date) return candidate;
  }
  throw new PricingError("not_a_period_start", `no period of this contract starts on ${date}`);
}

/** The periods overlapping [from, to), in order. */
export function* periodsBetween(contract: PeriodContract, from: number, to: number): Generator<Period> {
  for (let k = periodIndexAt(contract, from); ; k++) {
    const p = periodByIndex(contract, k);
    if (p.start >= to) return;
    yield p;
  }
}

/** When a period's statement freezes: its end + statement grace. */
export function periodCloseAt(contract: PeriodContract, period: Period): number {
  return period.end + (contract.statement_grace_h ?? DEFAULT_STATEMENT_GRACE_H) * 3_600_000;
}
