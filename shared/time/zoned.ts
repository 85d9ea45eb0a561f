// Wall-clock time in an IANA zone ⇄ UTC ms, with DST, using only Intl (runs in workerd and Node).
import { wholeSecond } from "./whole-second.ts";

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric",
      hour: "numeric", minute: "numeric", second: "numeric",
    });
    formatters.set(zone, f);
  }
  return f;
}

export interface WallTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

/** Whether `zone` is an IANA zone this runtime knows. */
export function isValidTimeZone(zone: string): boolean {
  try { formatter(zone); return true; } catch { return false; }
}

/** The machine's zone (collector default). */
export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/** The wall clock in `zone` at instant `utcMs` (whole seconds). */
export function wallTimeAt(utcMs: number, zone: string): WallTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(zone).formatToParts(new Date(utcMs))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** Offset of `zone` from UTC at instant `utcMs`, in ms (east positive). */
export function zoneOffsetMs(utcMs: number, zone: string): number {
  const w = wallTimeAt(utcMs, zone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - wholeSecond(utcMs);
}

/**
 * The UTC instant of a wall-clock time in `zone`. In a DST overlap (the hour that repeats) the
 * earlier instant is chosen; a time inside a DST gap (which never happened) is moved forward by
 * the gap, as the clocks were.
 */
export function wallTimeToUtc(w: WallTime, zone: string): number {
  const naive = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const before = zoneOffsetMs(naive - 86_400_000, zone);
  const after = zoneOffsetMs(naive + 86_400_000, zone);
  // Try both offsets around this date; keep those that map back to the same wall time.
  const candidates = [naive - before, naive - after].filter((t) => zoneOffsetMs(t, zone) === naive - t);
  if (candidates.length > 0) return Math.min(...candidates);
  // In a gap: apply the offset in force before the transition.
  return naive - before;
}
