// A FlexLM debug log's lines on the calendar, as flexlm-debuglog.ts reads them: each line's instant
// (log-calendar.ts), or, while the calendar cannot date it yet, the line held, in order, and
// replayed once an anchor dates it. After MAX_HELD lines without one, what is held is settled as a
// clock step, or counted as `undated_lines` if nothing was ever dated: we never bill time whose date
// we cannot prove. Dated, a line goes on: a usage event to the package filter, a vendor daemon's
// line as a sign of life (flexlm-daemon-lines.ts), a restart as the `server_down` of the daemon (or
// of all) it ends.
import type { ParseStats, SourceEvent } from "./events.ts";
import type { DaemonLines } from "./flexlm-daemon-lines.ts";
import type { LogCalendar } from "./log-calendar.ts";
import type { PackageFilter, UsageEvent } from "./package-filter.ts";
import { addDays, type LocalDate } from "./wall-clock.ts";

const MAX_HELD = 100_000;

/** A line waiting for its date: an event, a daemon's sign of life, or a restart. */
export type Held =
  | { k: number; tod: number; what: "event"; event: UsageEvent }
  | { k: number; tod: number; what: "line"; daemon: string }
  | { k: number; tod: number; what: "down"; daemon?: string; reason: string; restart?: true };

export class LineDating {
  /** Lines waiting for their date, in order. */
  held: Held[] = [];
  /** The current line's day among the held ones, when `instant` left it undated. */
  day = 0;
  // The line being read: its instant once placed (undefined: held, with `day`).
  private placed = false;
  private at: number | undefined;
  private readonly calendar: LogCalendar;
  private readonly packages: PackageFilter;
  private readonly lines: DaemonLines;
  private readonly st: ParseStats;

  /** The parser's calendar, package filter, daemons' lines and counters (`undated_lines`). */
  constructor(calendar: LogCalendar, packages: PackageFilter, lines: DaemonLines, st: ParseStats) {
    this.calendar = calendar;
    this.packages = packages;
    this.lines = lines;
    this.st = st;
  }

  /** The next line is read: it has no instant yet. */
  nextLine(): void {
    this.placed = false;
  }

  /** A dated envelope: an anchor, and the line's exact instant. */
  exact(date: LocalDate, tod: number, utc: number, out: SourceEvent[]): void {
    const base = this.calendar.anchor(date, tod, this.held, utc);
    if (base) this.replay(base, out);
    this.setInstant(this.calendar.exact(date, utc));
  }

  /** A line stating its date: held lines get theirs, then this line is placed on it. */
  anchor(date: LocalDate, tod: number, out: SourceEvent[], restart: boolean): void {
    const base = this.calendar.anchor(date, tod, this.held);
    if (base) this.replay(base, out);
    if (this.calendar.holding === "pass") return; // this line waits too, for a line that tells the pass of the hour
    this.setInstant(restart ? this.calendar.restartAt(date, tod) : this.calendar.anchorAt(date, tod));
  }

  /** The current line's instant (its time of day `tod`), placing it on first use; undefined while it must be held. */
  instant(tod: number): number | undefined {
    if (!this.placed) {
      this.at = this.calendar.place(tod);
      this.day = this.calendar.heldDay;
      this.placed = true;
    }
    return this.at;
  }

  instantOf(tod: number): { at?: number; k: number } {
    const at = this.instant(tod);
    return at === undefined ? { k: this.day } : { at, k: this.day };
  }

  setInstant(at: number): void {
    this.at = at;
    this.placed = true;
  }

  hold(item: Held, out: SourceEvent[]): void {
    if (this.held.length < MAX_HELD) {
      this.held.push(item);
      return;
    }
    if (this.calendar.holding !== "undated") { // too long without an anchor: settle, then place this line too
      this.held.push(item);
      this.settle(out);
    } else if (item.what === "event") this.st.undated_lines!++;
  }

  /** No anchor is coming: date what is held as a clock step, or drop it if nothing was ever dated. */
  settle(out: SourceEvent[]): void {
    const base = this.calendar.settle();
    this.placed = false; // the current line, if held, is dated afresh
    if (base) this.replay(base, out);
    else {
      for (const h of this.held) if (h.what === "event") this.st.undated_lines!++;
      this.held = [];
    }
  }

  private replay(base: LocalDate, out: SourceEvent[]): void {
    const held = this.held;
    this.held = [];
    const days = new Map<number, LocalDate>();
    for (const h of held) {
      let date = days.get(h.k);
      if (date === undefined) days.set(h.k, (date = addDays(base, h.k)));
      const at = this.calendar.replay(date, h.tod);
      if (h.what === "event") {
        h.event.at = at;
        this.release(h.event, out);
      } else if (h.what === "line") this.lines.alive(at, h.daemon, out);
      else this.downAt(at, h.daemon, h.reason, out, h.restart);
    }
  }

  /** A dated usage event, on to the package filter. */
  release(event: UsageEvent, out: SourceEvent[]): void {
    this.lines.lineAt(event.daemon, event.at);
    this.packages.push(event, out);
  }

  /** The current line (at `tod`) ends `daemon`'s sessions (undefined: every daemon's). */
  down(daemon: string | undefined, reason: string, tod: number, out: SourceEvent[], restart = false): void {
    this.packages.release(out);
    const at = this.instant(tod);
    if (at === undefined) this.hold({ k: this.day, tod, what: "down", ...(daemon !== undefined ? { daemon } : {}), reason, ...(restart ? { restart } : {}) }, out);
    else this.downAt(at, daemon, reason, out, restart);
  }

  downAt(at: number, daemon: string | undefined, reason: string, out: SourceEvent[], restart = false): void {
    this.packages.release(out);
    this.lines.lastLinesOf(daemon, out);
    out.push({ type: "server_down", at, ...(daemon !== undefined ? { daemon } : {}), reason });
    if (restart) this.lines.clear(); // what the daemons wrote before belongs to the server's previous run
  }
}
