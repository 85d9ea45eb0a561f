// RFC 3339 instants as the API accepts them (DESIGN.md §7): `2026-11-27T10:00:00Z`, fractional
// seconds and offsets allowed; turned into UTC ms for the DO and shared/pricing.
import { z } from "@hono/zod-openapi";

const pattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

export const instantInput = z.string()
  .refine((s) => pattern.test(s) && Number.isFinite(Date.parse(s)), "an RFC 3339 instant such as 2026-11-27T10:00:00Z")
  .openapi({ example: "2026-11-27T10:00:00Z" });

export function instantMs(text: string): number {
  return Date.parse(text);
}
