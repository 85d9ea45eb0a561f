// RFC 3339 instants as the API accepts them (DESIGN.md §7): `2026-11-27T10:00:00Z`, fractional
// seconds and offsets allowed; turned into UTC ms for the DO and shared/pricing.
import { z } from "@hono/zod-openapi";

const pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `text` is an RFC 3339 instant that names a real calendar time. `Date.parse` alone is
 * lenient: it reads `2026-02-30` as 2 March and `24:00:00` as the next day, so an impossible
 * date would silently become another instant. */
export function isInstantText(text: string): boolean {
  const m = pattern.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1] ?? 0;
  return day >= 1 && day <= daysInMonth && hour <= 23 && minute <= 59 && second <= 59
    && (m[8] === undefined || (Number(m[8]) <= 23 && Number(m[9]) <= 59)) && Number.isFinite(Date.parse(text));
}

function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export const instantInput = z.string()
  .refine(isInstantText, "an RFC 3339 instant such as 2026-11-27T10:00:00Z")
  .openapi({ example: "2026-11-27T10:00:00Z" });

export function instantMs(text: string): number {
  return Date.parse(text);
}
