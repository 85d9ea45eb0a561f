// The opaque `cursor` of the line-records endpoint: where the next page of a line's trace resumes
// (shared/pricing/live/line-trace.ts), as base64url JSON. A cursor that does not decode is a 422.
import type { TraceCursor } from "../../shared/pricing/index.ts";
import { EdgeError } from "../errors.ts";

export function encodeCursor(c: TraceCursor): string {
  return btoa(JSON.stringify([c.range, c.start, c.ref, c.position])).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function decodeCursor(text: string): TraceCursor {
  try {
    const [range, start, ref, position] = JSON.parse(atob(text.replaceAll("-", "+").replaceAll("_", "/"))) as unknown[];
    const ok = Number.isSafeInteger(range) && (range as number) >= 0 && (start === null || Number.isSafeInteger(start))
      && (ref === null || typeof ref === "string") && typeof position === "string" && /^\d{1,40}$/.test(position);
    if (ok) return { range: range as number, start: start as number | null, ref: ref as string | null, position: position as string };
  } catch { /* not a cursor */ }
  throw new EdgeError("invalid_request", "cursor: not a cursor from a previous page", { field: "query.cursor" });
}
