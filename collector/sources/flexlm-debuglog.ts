// FlexLM lmgrd / vendor-daemon debug log → SourceEvents (FORMATS.md §2). Envelopes and forked
// daemons: flexlm-envelope.ts; usage messages: flexlm-usage-line.ts, flexlm-holders.ts;
// daemons known running: flexlm-daemon-lines.ts.
//
// Dates: see log-calendar.ts. Anchors are `TIMESTAMP M/D/YYYY`, `Server's System Date and Time:`,
// `… started on HOST (…) (M/D/YYYY)`, SLOG `Time:` / `Start-Date:`, the date of a verbose line and
// every `-datestamp` envelope. Lines the calendar cannot date yet are held, in order, and replayed
// once it can; lines before the first anchor that no anchor ever dates are counted as
// `undated_lines`: we never bill time whose date we cannot prove.
//
// Restarts: `(lmgrd) … started on`, `(lmgrd) EXITING`, `(lmgrd) [RE]Started DAEMON (…pid …)` and
// `(DAEMON) Server started on` end that daemon's open sessions (`server_down`), preceded by an
// `alive` at the daemon's last line before it, so the tracker ends them at that time, never later.
// EXITING takes effect after the `IN … (SHUTDOWN)` lines that may follow it in the same second, and
// the vendors' own shutdown lines among them (`(adskflex) Shutdown requested.`): at the next lmgrd
// line, usage line of another kind, or the end of input. A usage suffix wrapped onto the next line:
// flexlm-wrapped-suffix.ts; a checkout upgraded to more licenses (`UPGRADE`): flexlm-holders.ts.
import type { LineSource, ParseStats, SourceEvent, SourceOptions } from "./events.ts";
import { DaemonLines } from "./flexlm-daemon-lines.ts";
import { FlexlmEnvelope } from "./flexlm-envelope.ts";
import { FlexlmHolders } from "./flexlm-holders.ts";
import { isServerStart, startedVendor, statedDate } from "./flexlm-lifecycle.ts";
import { newUsageScan, scanUsage, usageKindAt, type UsageKind } from "./flexlm-usage-line.ts";
import { WrappedSuffix, type WrappedState } from "./flexlm-wrapped-suffix.ts";
import { type CalendarState, LogCalendar } from "./log-calendar.ts";
import { NameTable } from "./name-table.ts";
import { PackageFilter, type PackageFilterState, type UsageEvent } from "./package-filter.ts";
import { addDays, isCalendarDate, type LocalDate } from "./wall-clock.ts";

// A message that starts like a usage line but is not one is unknown, never silently skipped.
const USAGE_PREFIX = /^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED|UPGRADE)\b/;
const MAX_HELD = 100_000;
const MAX_SAMPLES = 10;

/** A line waiting for its date: an event, a daemon's sign of life, or a restart. */
type Held =
  | { k: number; tod: number; what: "event"; event: UsageEvent }
  | { k: number; tod: number; what: "line"; daemon: string }
  | { k: number; tod: number; what: "down"; daemon?: string; reason: string; restart?: true };

interface DebugLogState extends WrappedState {
  calendar: CalendarState;
  held: Held[];
  packages: PackageFilterState;
  lastLineAt: Record<string, number>;
  lastAliveAt: Record<string, number>;
  exiting: { tod: number; reason: string; at?: number; k: number } | null;
  /** Daemons lmgrd started by this exact name (so `name_N` is not read as a fork of `name`). */
  started: string[];
  stats: ParseStats;
}

export class FlexlmDebugLogSource implements LineSource {
  private readonly calendar: LogCalendar;
  private readonly packages: PackageFilter;
  private readonly names = new NameTable();
  private readonly env = new FlexlmEnvelope(this.names);
  private readonly holders = new FlexlmHolders(this.names);
  private readonly scan = newUsageScan();
  private readonly lines = new DaemonLines();
  private held: Held[] = [];
  private exiting: DebugLogState["exiting"] = null;
  private readonly wrap = new WrappedSuffix();
  private readonly st: ParseStats = { lines: 0, events: 0, unknown_lines: 0, unknown_samples: [], undated_lines: 0, package_lines: 0, ignored_lines: 0, clock_steps: 0 };
  // The line being read: its instant once placed (undefined: held, with `day`).
  private placed = false;
  private at: number | undefined;
  private day = 0;

  constructor(opts: SourceOptions) {
    this.calendar = new LogCalendar(opts.timezone);
    this.packages = new PackageFilter(opts.package_features);
  }

  push(line: string): SourceEvent[] {
    const out: SourceEvent[] = [];
    this.line(line, 0, line.length, out);
    this.st.events += out.length;
    return out;
  }

  pushText(text: string, out: SourceEvent[]): void {
    const before = out.length;
    const n = text.length;
    for (let p = 0; p < n; ) {
      let nl = text.indexOf("\n", p);
      if (nl < 0) nl = n;
      this.line(text, p, nl, out);
      p = nl + 1;
    }
    this.st.events += out.length - before;
  }

  end(): SourceEvent[] {
    const out: SourceEvent[] = [];
    this.unwrap(out);
    this.endExit(out);
    this.settle(out);
    this.packages.release(out);
    this.lines.end(out);
    this.st.events += out.length;
    return out;
  }

  stats(): ParseStats {
    return { ...this.st, package_lines: this.packages.lines, clock_steps: this.calendar.steps };
  }

  save(): unknown {
    const state: DebugLogState = {
      calendar: this.calendar.save(), held: this.held, packages: this.packages.save(), ...this.lines.save(),
      exiting: this.exiting, started: this.env.startedNames, stats: this.st, ...this.wrap.save(this.held),
    };
    return structuredClone(state);
  }

  restore(saved: unknown): void {
    const state = structuredClone(saved as DebugLogState);
    this.calendar.restore(state.calendar);
    this.packages.restore(state.packages);
    this.held = state.held;
    this.lines.restore(state.lastLineAt, state.lastAliveAt);
    this.exiting = state.exiting;
    this.env.startedNames = state.started;
    this.wrap.restore(state, state.held);
    Object.assign(this.st, state.stats);
  }

  /** One line: text[start, end), without its LF. */
  private line(text: string, start: number, end: number, out: SourceEvent[]): void {
    this.st.lines++;
    if (end > start && text.charCodeAt(end - 1) === 13) end--;
    this.placed = false;
    if (this.wrap.waiting) {
      const read = this.wrap.read(text, start, end);
      this.unwrap(out);
      if (read) return;
    }
    const env = this.env;
    if (!env.read(text, start, end)) {
      if (text.slice(start, end).trim() !== "") this.unknown(text.slice(start, end));
      return;
    }
    const exact = env.exact;
    if (exact) { // a dated envelope: an anchor, and the line's exact instant
      const base = this.calendar.anchor(exact.date, env.tod, this.held, exact.utc);
      if (base) this.replay(base, out);
      this.setInstant(this.calendar.exact(exact.date, exact.utc));
    }
    const told = exact ? undefined : this.calendar.passTold(env.tod); // at the start, in a repeated hour: a line outside it tells the pass
    if (told) this.anchor(told, env.tod, out, false);
    const kind = usageKindAt(text, env.message);
    if (kind !== undefined) {
      this.usage(kind, text, start, end, out);
      return;
    }
    if (this.exiting && env.daemon === "lmgrd") this.endExit(out);
    const message = text.slice(env.message, end).trimEnd();
    if (USAGE_PREFIX.test(message)) {
      this.unknown(text.slice(start, end));
      return;
    }
    const daemon = env.daemon;
    const restart = isServerStart(daemon, message);
    const date = exact ? undefined : statedDate(daemon, message);
    if (date) this.anchor(date, env.tod, out, restart);
    else if (restart && exact) this.setInstant(this.calendar.restartExact(exact.date, exact.utc));
    if (daemon === "lmgrd") {
      const vendor = startedVendor(message);
      if (message.startsWith("EXITING")) this.exiting = { tod: env.tod, reason: message, ...this.instantOf() };
      else if (restart) this.down(undefined, message, out, true);
      else if (vendor !== undefined) this.down(env.startedDaemon(vendor), message, out);
    } else if (message.startsWith("Server started on") && env.written === daemon) this.down(daemon, message, out); // not a fork
    this.noteLine(out);
  }

  private usage(kind: UsageKind, text: string, start: number, end: number, out: SourceEvent[]): void {
    const scan = this.scan;
    const ok = scanUsage(text, this.env.message, end, scan);
    const who = ok ? this.holders.of(text, scan) : undefined;
    // lmgrd may log EXITING before the vendor's `IN … (SHUTDOWN)` lines: let those pair first.
    if (this.exiting && !(who && kind === "IN" && scan.notes.includes("SHUTDOWN"))) this.endExit(out);
    if (!who) {
      this.unknown(text.slice(start, end));
      return;
    }
    const verbose = scan.verbose;
    if (verbose?.date && isCalendarDate(verbose.date.year, verbose.date.month, verbose.date.day)) this.anchor(verbose.date, verbose.secondOfDay ?? this.env.tod, out, false);
    const upgrade = kind === "UPGRADE" ? this.holders.upgradeOf(this.env.daemon, who, this.scan) : undefined;
    if (upgrade) {
      for (const event of upgrade) this.place(event, out);
      return;
    }
    const event = this.holders.eventOf(kind, this.env.daemon, who, this.scan);
    if (event === undefined) {
      this.st.ignored_lines!++; // UNSUPPORTED precedes a successful OUT from another line; QUEUED waits
      this.noteLine(out);
      return;
    }
    this.place(event, out, WrappedSuffix.mayWrap(text, scan.whoEnd, end));
  }

  /** A usage event of the current line, at its instant, or held until it has one; `wraps`: it waits
   *  for a suffix the next line may carry (flexlm-wrapped-suffix.ts). */
  private place(event: UsageEvent, out: SourceEvent[], wraps = false): void {
    const at = this.instant();
    if (at === undefined) {
      this.hold({ k: this.day, tod: this.env.tod, what: "event", event }, out);
      const last = this.held.at(-1);
      if (wraps && last?.what === "event" && last.event === event) this.wrap.waitFor(event, false);
    } else {
      event.at = at;
      if (wraps) this.wrap.waitFor(event, true);
      else this.release(event, out);
    }
  }

  private unwrap(out: SourceEvent[]): void {
    const event = this.wrap.take();
    if (event) this.release(event, out);
  }

  /** A line stating its date: held lines get theirs, then this line is placed on it. */
  private anchor(date: LocalDate, tod: number, out: SourceEvent[], restart: boolean): void {
    const base = this.calendar.anchor(date, tod, this.held);
    if (base) this.replay(base, out);
    if (this.calendar.holding === "pass") return; // this line waits too, for a line that tells the pass of the hour
    this.setInstant(restart ? this.calendar.restartAt(date, tod) : this.calendar.anchorAt(date, tod));
  }

  /** The current line's instant, placing it on first use; undefined while it must be held. */
  private instant(): number | undefined {
    if (!this.placed) {
      this.at = this.calendar.place(this.env.tod);
      this.day = this.calendar.heldDay;
      this.placed = true;
    }
    return this.at;
  }

  private instantOf(): { at?: number; k: number } {
    const at = this.instant();
    return at === undefined ? { k: this.day } : { at, k: this.day };
  }

  private setInstant(at: number): void {
    this.at = at;
    this.placed = true;
  }

  private hold(item: Held, out: SourceEvent[]): void {
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
  private settle(out: SourceEvent[]): void {
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
  private release(event: UsageEvent, out: SourceEvent[]): void {
    this.lines.lineAt(event.daemon, event.at);
    this.packages.push(event, out);
  }

  private down(daemon: string | undefined, reason: string, out: SourceEvent[], restart = false): void {
    this.packages.release(out);
    const at = this.instant();
    if (at === undefined) this.hold({ k: this.day, tod: this.env.tod, what: "down", ...(daemon !== undefined ? { daemon } : {}), reason, ...(restart ? { restart } : {}) }, out);
    else this.downAt(at, daemon, reason, out, restart);
  }

  private downAt(at: number, daemon: string | undefined, reason: string, out: SourceEvent[], restart = false): void {
    this.packages.release(out);
    this.lines.lastLinesOf(daemon, out);
    out.push({ type: "server_down", at, ...(daemon !== undefined ? { daemon } : {}), reason });
    if (restart) this.lines.clear(); // what the daemons wrote before belongs to the server's previous run
  }

  private endExit(out: SourceEvent[]): void {
    const exiting = this.exiting;
    if (!exiting) return;
    this.exiting = null;
    if (exiting.at !== undefined) this.downAt(exiting.at, undefined, exiting.reason, out);
    else if (this.calendar.holding) this.hold({ k: exiting.k, tod: exiting.tod, what: "down", reason: exiting.reason }, out);
    else this.downAt(this.calendar.lastInstant ?? 0, undefined, exiting.reason, out);
  }

  /** Any line of a vendor daemon proves it was running then. */
  private noteLine(out: SourceEvent[]): void {
    const daemon = this.env.daemon;
    if (daemon === "lmgrd") return;
    const at = this.instant();
    if (at !== undefined) this.lines.alive(at, daemon, out);
    else {
      // Consecutive lines of a daemon keep only the last — but never the first held line: after a
      // clock step it is the one that says where the step was.
      const last = this.held.length > 1 ? this.held.at(-1) : undefined;
      if (last?.what === "line" && last.daemon === daemon) Object.assign(last, { k: this.day, tod: this.env.tod });
      else this.hold({ k: this.day, tod: this.env.tod, what: "line", daemon }, out);
    }
  }

  private unknown(line: string): void {
    this.st.unknown_lines++;
    if (this.st.unknown_samples.length < MAX_SAMPLES) this.st.unknown_samples.push(line);
  }
}
