// How `GET …/usage` cuts [from, to) over the rollup tables (usage-report.ts): the whole local
// months inside it from usage_months, the whole local days left from usage_days, and only the
// ragged hours at either end from usage_rollups — so a request reads at most ~2 × 23 hours, ~60
// days and the months between, whatever the span. Days are the contract zone's local dates (23 or
// 25 hours on DST days), found by walking hour by hour (at most a day each end) and asking
// LocalHours for each hour's date, the same date the hourly rows carry in `day`.
import type { LocalHours } from "../shared/time/local-hours.ts";

const HOUR_MS = 3_600_000;

/** Half-open ranges per table: hours (UTC instants of local hour starts), days (YYYY-MM-DD), months (YYYY-MM). */
export interface UsageSpans { hours: Array<[number, number]>; days: Array<[string, string]>; months: Array<[string, string]> }

/** [from, to) (both local hour starts) cut into the coarsest pieces; `byDay`: no months (the answer is grouped per day). */
export function usageSpans(hours: LocalHours, from: number, to: number, byDay: boolean): UsageSpans {
  const next = (h: number) => Math.max(h + 1, hours.hourStart(h + HOUR_MS));
  const prev = (h: number) => hours.hourStart(h - 1);
  const dayStart = (h: number) => hours.day(h) !== hours.day(prev(h));
  let head = from;
  while (head < to && !dayStart(head)) head = next(head);
  let tail = to;
  while (tail > head && !dayStart(tail)) tail = prev(tail);
  if (tail <= head) return { hours: [[from, to]], days: [], months: [] };
  const out: UsageSpans = { hours: [[from, head], [tail, to]].filter(([a, b]) => a! < b!) as Array<[number, number]>, days: [], months: [] };
  const dFrom = hours.day(head), dTo = hours.day(tail);
  const mFrom = dFrom.endsWith("-01") ? dFrom.slice(0, 7) : nextMonth(dFrom.slice(0, 7));
  const mTo = dTo.slice(0, 7);
  if (byDay || mFrom >= mTo) {
    out.days.push([dFrom, dTo]);
    return out;
  }
  out.months.push([mFrom, mTo]);
  out.days = ([[dFrom, `${mFrom}-01`], [`${mTo}-01`, dTo]] as Array<[string, string]>).filter(([a, b]) => a < b);
  return out;
}

function nextMonth(month: string): string {
  const [y, m] = month.split("-").map(Number) as [number, number];
  return m === 12 ? `${String(y + 1).padStart(4, "0")}-01` : `${month.slice(0, 4)}-${String(m + 1).padStart(2, "0")}`;
}
