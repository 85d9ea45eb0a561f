// Instants on the API: RFC 3339 UTC with whole seconds (DESIGN.md §7).
import { wholeSecond } from "../shared/time/whole-second.ts";

export function instant(ms: number): string {
  return new Date(wholeSecond(ms)).toISOString().replace(".000Z", "Z");
}
