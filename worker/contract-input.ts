// What `POST /v1/contracts` accepts. The plan (DESIGN.md §6) is validated in full by
// shared/pricing's parsePlan in the route.
import { z } from "zod";
import { isValidTimeZone, wallTimeAt } from "../shared/time/zoned.ts";
import { EdgeError } from "./errors.ts";
import { isInstantText } from "./instant-input.ts";

export const createContractSchema = z.strictObject({
  customer_id: z.string().min(1).max(64),
  // Validated in full by shared/pricing's parsePlan in the route (422 `invalid_plan` + `field`).
  plan: z.record(z.string(), z.unknown()),
  start: z.string().min(10).max(40),
  timezone: z.string().min(1).max(64).refine(isValidTimeZone, "an IANA time zone"),
  statement_grace_h: z.number().int().min(0).max(24 * 90).optional(),
  expected_sync_s: z.number().int().min(60).max(365 * 86400).optional(),
});

export const DEFAULT_STATEMENT_GRACE_H = 72;
export const DEFAULT_EXPECTED_SYNC_S = 86400;

/** `start` is `YYYY-MM-DD`, or an instant whose local date in `timezone` is used. */
export function startDate(start: string, timezone: string): string {
  if (/^\d{4}-\d{2}-\d{2}$/.test(start)) {
    const [y, m, d] = start.split("-").map(Number) as [number, number, number];
    const check = new Date(Date.UTC(y, m - 1, d));
    if (check.getUTCFullYear() === y && check.getUTCMonth() === m - 1 && check.getUTCDate() === d && y >= 1970) return start;
  } else if (isInstantText(start)) {
    const w = wallTimeAt(Date.parse(start), timezone);
    // The same floor as a date: `Date.UTC` reads years 0–99 as 19xx, so an earlier start's
    // start_at would not be its start date's midnight.
    if (w.year >= 1970) return `${String(w.year).padStart(4, "0")}-${String(w.month).padStart(2, "0")}-${String(w.day).padStart(2, "0")}`;
  }
  throw new EdgeError("invalid_request", "start: a date YYYY-MM-DD or an RFC 3339 instant", { field: "start" });
}
