// Back-fill (FORMATS.md §2.4, "buffer them until the first anchor and back-fill"): the lines of a
// log before its first date anchor are held, then dated from it. Read forward (log-calendar.ts), a
// line takes the reading nearest after the line before it; the first held line has none, so when
// it falls in a repeated DST hour its pass comes from the lines after it: from the anchor back,
// each held line is read nearest before the next. A log that starts in the second pass of the hour
// is read there, not an hour early (which would bill every session open across the hour's end an
// hour more). An anchor itself in the repeated hour tells no pass unless the line before it can only
// come before its first: until a line outside the hour comes, the calendar holds on (`passUnknown`).
import { addDays, type LocalDate, type WallClock } from "./wall-clock.ts";

/** A held line's day index (relative to the first held line) and printed time of day. */
export interface HeldTime { k: number; tod: number }

export class BackFill {
  private readonly clock: WallClock;
  private readonly jitterMs: number;
  private readonly quietMs: number;

  /** A line may be read at most `jitterMs` after the next one and at most `quietMs` before it. */
  constructor(clock: WallClock, jitterMs: number, quietMs: number) {
    this.clock = clock;
    this.jitterMs = jitterMs;
    this.quietMs = quietMs;
  }

  /** The pass of `tod` on `date` that is plausible and nearest before the line read at `next`. */
  nearestBefore(date: LocalDate, tod: number, next: number): number | undefined {
    const early = this.clock.toUtc(date, tod);
    const late = this.clock.later(date, tod);
    const ok = (at: number) => next - at >= -this.jitterMs && next - at <= this.quietMs;
    if (ok(late) && (!ok(early) || Math.abs(next - late) <= Math.abs(next - early))) return late;
    return ok(early) ? early : undefined;
  }

  /**
   * Whether nothing tells the pass of an anchor at `tod` on `date` (day index `k` of the held run)
   * with nothing placed before it: it is in a repeated hour, and no line is held before it, or the
   * first is in the hour too and the last may come before the anchor's first pass.
   */
  passUnknown(date: LocalDate, tod: number, k: number, held: readonly HeldTime[]): boolean {
    if (!this.clock.repeats(date, tod)) return false;
    const first = held[0], last = held[held.length - 1];
    if (first === undefined || last === undefined) return true;
    const base = addDays(date, -k);
    return this.clock.repeats(addDays(base, first.k), first.tod) && this.nearestBefore(addDays(base, last.k), last.tod, this.clock.toUtc(date, tod)) !== undefined;
  }

  /**
   * The instant (unshifted) of the first `held` line, dated from `base` (day index 0) by an anchor at
   * `anchorTod` on `anchorDate` (`utc`: its exact instant, if it states one). Undefined: that line is
   * not in a repeated hour (forward order reads it as any other), or a step back in the run that no
   * reading explains cuts it off from the anchor (read forward from its first pass, as a step).
   */
  firstAt(base: LocalDate, held: readonly HeldTime[], anchorDate: LocalDate, anchorTod: number, utc: number | undefined): number | undefined {
    const first = held[0];
    if (first === undefined || !this.clock.repeats(addDays(base, first.k), first.tod)) return undefined;
    let k = NaN, date = base;
    const before = (h: HeldTime, next: number) => {
      if (h.k !== k) date = addDays(base, (k = h.k));
      return this.nearestBefore(date, h.tod, next);
    };
    let next: number | undefined = utc ?? this.clock.toUtc(anchorDate, anchorTod);
    // An anchor in the repeated hour comes here once the line before it cannot precede its first pass.
    if (utc === undefined && before(held[held.length - 1]!, next) === undefined) next = this.clock.later(anchorDate, anchorTod);
    for (let i = held.length - 1; i >= 0 && next !== undefined; i--) next = before(held[i]!, next);
    return next;
  }
}
