// Lists (DESIGN.md §7): `?limit&cursor` → `{items, next_cursor}`. Ids sort by creation, so the
// cursor is the last id returned (treat it as opaque); `next_cursor` is null on the last page.
import type { Context } from "hono";
import { z } from "zod";
import { sha256Hex } from "../shared/protocol/index.ts";
import { validated } from "./request-body.ts";

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 100;

const querySchema = z.object({
  limit: z.coerce.number().int().min(1).max(MAX_LIMIT).default(DEFAULT_LIMIT),
  cursor: z.string().regex(/^[a-z]{3}_[0-9a-f]{1,64}$/, "a cursor from a previous page").optional(),
});

export function pageQuery(c: Context): { limit: number; cursor?: string | undefined } {
  return validated(querySchema, { limit: c.req.query("limit"), cursor: c.req.query("cursor") }, "query.");
}

/** `rows` were fetched with limit + 1 to learn whether another page exists. */
export function page<T extends { id: string }, U>(rows: T[], limit: number, present: (row: T) => U): { items: U[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  return { items: items.map(present), next_cursor: rows.length > limit ? items[items.length - 1]!.id : null };
}

/** What an opaque cursor is bound to — the query or line it pages, as `parts` — so a cursor of
 *  another is refused instead of silently paging something else (usage-report.ts, trace-cursor.ts). */
export function cursorTag(...parts: Array<string | number>): string {
  return sha256Hex(new TextEncoder().encode(parts.join("\n"))).slice(0, 16);
}
