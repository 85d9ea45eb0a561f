// The opaque `cursor` of the line-records endpoint: where the next page of a line's trace resumes
// (shared/pricing/live/line-trace.ts), as base64url JSON, bound to the line it pages (its period and
// id: a position in another line's trace would silently answer other runs). A cursor that does not
// decode, or belongs to another line, is a 422.
import type { TraceCursor } from "../../shared/pricing/index.ts";
import { cursorTag } from "../pagination.ts";
import { EdgeError } from "../errors.ts";

/** The line a cursor pages: its contract, the period's start and the line's id. */
export function lineTag(contractId: string, periodStart: number, lineId: string): string {
  return cursorTag(contractId, periodStart, lineId);
}

export function encodeCursor(c: TraceCursor, tag: string): string {
  return btoa(JSON.stringify([c.range, c.start, c.ref, c.position, tag])).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(text: string, tag: string): TraceCursor {
  try {
    const [range, start, ref, position, of] = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
    const ok = of === tag && Number.isSafeInteger(range) && (range as number) >= 0 && (start === null || Number.isSafeInteger(start))
      && (ref === null || typeof ref === "string") && typeof position === "string" && /^\d{1,40}$/.test(position);
    if (ok) return { range: range as number, start: start as number | null, ref: ref as string | null, position: position as string };
  } catch { /* not a cursor */ }
  throw new EdgeError("invalid_request", "query.cursor: not a cursor from a previous page of this line", { field: "query.cursor" });
}
