// Which instant a time-only log line stands for (FORMATS.md §2.4): lines print `h:mm:ss` in the
// server's zone; dates come from anchors (TIMESTAMP, restart lines, dated envelopes) and, between
// anchors, from the order of the lines.
//
// For each line the calendar weighs the readings its time allows — same day, next day (midnight
// passed), previous day (a late line from before midnight), each in the first or second pass of a
// repeated DST hour — and takes the one closest after the previous line, if it is plausible: at
// most JITTER before it (lines of several daemons interleave) and at most QUIET after it (a live
// server writes a TIMESTAMP every ~6 h). So a DST fall-back is resolved by order (a step back inside
// the repeated hour is its second pass) and a clock going back at 23:59 is a new day.
//
// A step that no reading explains (13:00 → 11:30: a clock set back; or 18:00 → 09:00 after a
// silent night) is not guessed: the lines from there on are held (`place` returns undefined) until
// the next anchor says which date they are on. Lines before the first anchor wait the same way, and
// are back-filled from it: the first of them, with no line before it, takes the pass of a repeated
// hour the lines after it tell (log-back-fill.ts).
// Resolved as a clock step (or, with no anchor in sight, assumed one: the reading that bills less),
// later times are moved forward by the step so that time never runs backwards — no span is
// negative or counted twice, and a session across the step is billed only the time it provably
// lasted (up to the last line before the step and from the first line after it).
import { EVENT_DISORDER_MS } from "./events.ts";
import { BackFill, type HeldTime } from "./log-back-fill.ts";
import { addDays, type LocalDate, WallClock } from "./wall-clock.ts";

const JITTER_MS = EVENT_DISORDER_MS;
const QUIET_MS = 8 * 3_600_000;
const DAY_S = 86_400;

export interface CalendarState {
  date: LocalDate | null;
  lastAt: number | null;
  /** ms added to printed times since clocks were set back, and how many times that happened. */
  shift: number;
  steps: number;
  /**
   * Holding: the day index of the last held line (relative to the first), its printed time, and what
   * held them; `dated`: an anchor came, of day index `k`, but in a repeated hour that nothing yet
   * tells the pass of.
   */
  hold: {
    k: number; tod: number; first: number; from: LocalDate | null; lastAt: number | null; shift: number;
    dated?: { date: LocalDate; k: number };
  } | null;
}

export class LogCalendar {
  private readonly clock: WallClock;
  private readonly backFill: BackFill;
  private s: CalendarState = { date: null, lastAt: null, shift: 0, steps: 0, hold: null };
  /** Day index (relative to the first held line) of the line `place` just held. */
  heldDay = 0;
  /** The instant back-fill found for the first held line, until `replay` places it (within one `anchor`). */
  private firstAt: number | undefined;
  /** Local midnight of the current date in UTC ms (null on a day with a DST change), for the common case. */
  private midnight: number | null = null;
  private midnightOf: LocalDate | null = null;


  constructor(zone: string) {
    this.clock = new WallClock(zone);
    this.backFill = new BackFill(this.clock, JITTER_MS, QUIET_MS);
  }

  get dated(): boolean {
    return this.s.date !== null && this.s.hold === null;
  }

  /** Clock steps back compensated so far. */
  get steps(): number {
    return this.s.steps;
  }

  /** The latest instant placed. */
  get lastInstant(): number | undefined {
    return this.s.lastAt ?? undefined;
  }

  /** Why lines are held: no date yet, a step no reading explains, or the pass of a repeated hour at the start. */
  get holding(): "undated" | "step" | "pass" | null {
    const hold = this.s.hold;
    return hold === null ? null : hold.dated ? "pass" : hold.from === null ? "undated" : "step";
  }

  /**
   * While only the pass of a repeated hour is unknown (`holding` "pass"): the date of a line at `tod`
   * outside that hour, which tells it — the caller anchors that line on it. Else undefined.
   */
  passTold(tod: number): LocalDate | undefined {
    const dated = this.s.hold?.dated;
    if (dated === undefined) return undefined;
    const date = addDays(dated.date, this.holdNext(tod) - dated.k); // the same tod again leaves the hold as it is
    return this.clock.repeats(date, tod) ? undefined : date;
  }

  /** The instant of a line at `tod`, or undefined: hold it (with `heldDay`) until `anchor` or `settle`. */
  place(tod: number): number | undefined {
    const s = this.s;
    if (s.hold !== null) {
      this.heldDay = this.holdNext(tod);
      return undefined;
    }
    if (s.date === null || s.lastAt === null) return this.startHold(tod, null);
    if (s.date !== this.midnightOf) {
      this.midnightOf = s.date;
      this.midnight = this.clock.midnight(s.date);
    }
    const early = (this.midnight === null ? this.clock.toUtc(s.date, tod) : this.midnight + tod * 1000) + s.shift;
    const gap = early - s.lastAt;
    if (gap >= 0 && gap <= QUIET_MS) { // the common case: a little later the same day
      s.lastAt = early;
      return early;
    }
    return this.choose(s.date, tod) ?? this.startHold(tod, s.date);
  }

  /**
   * A line that states its date (`utc`: its exact instant, if it states one). Returns the base date
   * for the held lines (day index 0), which the caller now dates in order with `replay`, then calls
   * `anchorAt(date, tod)` for the anchor itself. `held` are those lines, in order. When nothing is
   * placed yet and the anchor falls in a repeated hour that nothing before it tells the pass of,
   * lines are held (`holding` "pass"), this one too, until a line outside the hour (`passTold`).
   */
  anchor(date: LocalDate, tod: number, held: readonly HeldTime[], utc?: number): LocalDate | undefined {
    if (this.s.lastAt === null && utc === undefined && this.backFill.passUnknown(date, tod, this.s.hold ? this.holdNext(tod) : 0, held)) {
      if (this.s.hold === null) this.startHold(tod, null);
      this.s.hold!.dated = { date, k: this.holdNext(tod) };
      return undefined;
    }
    const hold = this.s.hold;
    if (hold === null) return undefined;
    const k = this.holdNext(tod);
    this.endHold(hold);
    const base = addDays(date, -k);
    if (hold.from === null) {
      const first = this.backFill.firstAt(base, held, date, tod, utc);
      this.firstAt = first === undefined ? undefined : first + this.s.shift;
    }
    return base;
  }

  /** The instant of a held line on its now known date. */
  replay(date: LocalDate, tod: number): number {
    const s = this.s;
    let pick: number;
    if (s.lastAt === null) {
      pick = this.firstAt ?? this.clock.toUtc(date, tod) + s.shift;
      this.firstAt = undefined;
    } else pick = this.nearest(date, tod) ?? this.clock.toUtc(date, tod) + s.shift;
    s.date = date;
    return this.monotone(pick);
  }

  /** The instant of a dated line (an anchor, after any held lines were replayed). */
  anchorAt(date: LocalDate, tod: number): number {
    return this.replay(date, tod);
  }

  /** A line with an exact instant (`-datestamp` envelope): it anchors `date` too. */
  exact(date: LocalDate, utc: number): number {
    this.s.date = date;
    return this.monotone(utc + this.s.shift);
  }

  /**
   * A full restart of the license server, dated: nothing is open any more, so printed time is
   * trusted again (the shift of earlier clock steps is dropped; time may go back). The order of
   * lines still tells the pass of a repeated DST hour.
   */
  restartAt(date: LocalDate, tod: number): number {
    const s = this.s;
    const printed = s.lastAt === null ? null : s.lastAt - s.shift;
    s.shift = 0;
    s.lastAt = printed;
    const at = printed === null ? this.clock.toUtc(date, tod) : this.nearest(date, tod) ?? this.clock.toUtc(date, tod);
    s.date = date;
    s.lastAt = at;
    return at;
  }

  /** A restart on a line with an exact instant: the shift of earlier clock steps is dropped. */
  restartExact(date: LocalDate, utc: number): number {
    this.s.shift = 0;
    this.s.date = date;
    this.s.lastAt = utc;
    return utc;
  }

  /**
   * No anchor will come (end of input, or too many held lines): a step is taken as a clock set
   * back, the reading that bills less. Returns the base date for `replay`, or undefined when the
   * held lines were never dated (they cannot be placed at all).
   */
  settle(): LocalDate | undefined {
    const hold = this.s.hold;
    if (hold === null) return undefined;
    this.endHold(hold);
    if (hold.dated) return addDays(hold.dated.date, -hold.dated.k); // nothing told the pass: the first, as for any line with nothing before it
    const from = hold.from;
    if (from === null || hold.lastAt === null) return from ?? undefined;
    // A clock set back across midnight printed a later time of the day before: read it there.
    return this.clock.toUtc(from, hold.first) + hold.shift > hold.lastAt + JITTER_MS ? addDays(from, -1) : from;
  }

  save(): CalendarState {
    return structuredClone(this.s);
  }

  restore(state: CalendarState): void {
    this.s = structuredClone(state);
  }

  /** The plausible reading nearest after the last line, on `date` or the days around it. */
  private choose(date: LocalDate, tod: number): number | undefined {
    let best: number | undefined;
    let bestDate = date;
    for (const offset of [0, 1, -1]) {
      const day = offset === 0 ? date : addDays(date, offset);
      const at = this.nearest(day, tod);
      if (at !== undefined && (best === undefined || Math.abs(at - this.s.lastAt!) < Math.abs(best - this.s.lastAt!))) {
        best = at;
        bestDate = offset === -1 ? date : day; // a late line from before midnight does not turn the date back
      }
    }
    if (best === undefined) return undefined;
    this.s.date = bestDate;
    return this.monotone(best);
  }

  /** The first or second pass of `tod` on `date`, whichever is plausible and nearer the last line. */
  private nearest(date: LocalDate, tod: number): number | undefined {
    const last = this.s.lastAt!;
    const early = this.clock.toUtc(date, tod) + this.s.shift;
    const late = this.clock.later(date, tod) + this.s.shift;
    const ok = (at: number) => at - last >= -JITTER_MS && at - last <= QUIET_MS;
    if (ok(early) && (!ok(late) || Math.abs(early - last) <= Math.abs(late - last))) return early;
    return ok(late) ? late : undefined;
  }

  /** Time never runs backwards: a step back beyond jitter becomes a shift of what follows. */
  private monotone(at: number): number {
    const s = this.s;
    if (s.lastAt !== null && at < s.lastAt - JITTER_MS) {
      s.steps++;
      s.shift += s.lastAt - at;
      at = s.lastAt;
    }
    if (s.lastAt === null || at > s.lastAt) s.lastAt = at;
    return at;
  }

  private startHold(tod: number, from: LocalDate | null): undefined {
    this.s.hold = { k: 0, tod, first: tod, from, lastAt: this.s.lastAt, shift: this.s.shift };
    this.heldDay = 0;
    return undefined;
  }

  /** Day index of the next held line: only a plain midnight (or a late line before it) counts. */
  private holdNext(tod: number): number {
    const hold = this.s.hold!;
    const delta = tod - hold.tod;
    const quiet = QUIET_MS / 1000, jitter = JITTER_MS / 1000;
    if (delta >= -jitter && delta <= quiet) {
      if (delta > 0) hold.tod = tod;
      return hold.k;
    }
    if (delta + DAY_S <= quiet && delta + DAY_S >= -jitter) {
      hold.k++;
      hold.tod = tod;
      return hold.k;
    }
    if (delta - DAY_S >= -jitter) return hold.k - 1;
    hold.tod = tod; // another unexplained step: the next anchor can only date the whole run at once
    return hold.k;
  }

  private endHold(hold: NonNullable<CalendarState["hold"]>): void {
    this.s.hold = null;
    this.s.lastAt = hold.lastAt;
    this.s.shift = hold.shift;
  }
}
