// FlexLM lmgrd / vendor-daemon debug log → SourceEvents (FORMATS.md §2). Envelopes and forked
// daemons: flexlm-envelope.ts; usage messages: flexlm-usage-line.ts, flexlm-holders.ts;
// daemons known running: flexlm-daemon-lines.ts.
//
// Dates: see log-calendar.ts; lines held until they can be dated, and what dated lines go on to:
// flexlm-line-dating.ts. Anchors are `TIMESTAMP M/D/YYYY`, `Server's System Date and Time:`,
// `… started on HOST (…) (M/D/YYYY)`, SLOG `Time:` / `Start-Date:`, the date of a verbose line and
// every `-datestamp` envelope.
//
// Restarts: `(lmgrd) … started on`, `(lmgrd) EXITING`, `(lmgrd) [RE]Started DAEMON (…pid …)` and
// `(DAEMON) Server started on` end that daemon's open sessions (`server_down`), preceded by an
// `alive` at the daemon's last line before it, so the tracker ends them at that time, never later.
// EXITING takes effect after the `IN … (SHUTDOWN)` lines that may follow it in the same second, and
// the vendors' own shutdown lines among them (`(adskflex) Shutdown requested.`): at the next lmgrd
// line, usage line of another kind, or the end of input. A usage suffix wrapped onto the next line:
// flexlm-wrapped-suffix.ts; a checkout upgraded to more licenses (`UPGRADE`): flexlm-holders.ts.
import type { LineSource, ParseStats, SourceEvent, SourceOptions, UsageSink } from "./events.ts";
import { DaemonLines } from "./flexlm-daemon-lines.ts";
import { FlexlmEnvelope } from "./flexlm-envelope.ts";
import { FlexlmHolders, reasonOf } from "./flexlm-holders.ts";
import { isServerStart, startedVendor, statedDate } from "./flexlm-lifecycle.ts";
import { type Held, LineDating } from "./flexlm-line-dating.ts";
import { newUsageScan, scanUsage, usageKindAt, type UsageKind, type Who } from "./flexlm-usage-line.ts";
import { WrappedSuffix, type WrappedState } from "./flexlm-wrapped-suffix.ts";
import { type CalendarState, LogCalendar } from "./log-calendar.ts";
import { NameTable } from "./name-table.ts";
import { PackageFilter, type PackageFilterState, type UsageEvent } from "./package-filter.ts";
import { isCalendarDate } from "./wall-clock.ts";

// A message that starts like a usage line but is not one is unknown, never silently skipped.
const USAGE_PREFIX = /^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED|UPGRADE)\b/;
const MAX_SAMPLES = 10;

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
  private readonly dating: LineDating;
  private readonly names = new NameTable();
  private readonly env = new FlexlmEnvelope(this.names);
  private readonly holders = new FlexlmHolders(this.names);
  private readonly scan = newUsageScan();
  private readonly lines = new DaemonLines();
  private exiting: DebugLogState["exiting"] = null;
  private readonly wrap = new WrappedSuffix();
  // While pushText reads with a sink: it, and how many events of `out` are counted in `st.events`
  // (the sink takes them out of `out`).
  private sink: UsageSink | undefined;
  private counted = 0;
  private readonly st: ParseStats = { lines: 0, events: 0, unknown_lines: 0, unknown_samples: [], undated_lines: 0, package_lines: 0, ignored_lines: 0, clock_steps: 0 };

  constructor(opts: SourceOptions) {
    this.calendar = new LogCalendar(opts.timezone);
    this.packages = new PackageFilter(opts.package_features);
    this.dating = new LineDating(this.calendar, this.packages, this.lines, this.st);
  }

  push(line: string): SourceEvent[] {
    const out: SourceEvent[] = [];
    this.line(line, 0, line.length, out);
    this.st.events += out.length;
    return out;
  }

  pushText(text: string, out: SourceEvent[], sink?: UsageSink): void {
    this.sink = sink;
    this.counted = out.length;
    const n = text.length;
    for (let p = 0; p < n; ) {
      let nl = text.indexOf("\n", p);
      if (nl < 0) nl = n;
      this.line(text, p, nl, out);
      p = nl + 1;
    }
    this.st.events += out.length - this.counted;
    this.sink = undefined;
  }

  end(): SourceEvent[] {
    const out: SourceEvent[] = [];
    this.unwrap(out);
    this.endExit(out);
    this.dating.settle(out);
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
      calendar: this.calendar.save(), held: this.dating.held, packages: this.packages.save(), ...this.lines.save(),
      exiting: this.exiting, started: this.env.startedNames, stats: this.st, ...this.wrap.save(this.dating.held),
    };
    return structuredClone(state);
  }

  restore(saved: unknown): void {
    const state = structuredClone(saved as DebugLogState);
    this.calendar.restore(state.calendar);
    this.packages.restore(state.packages);
    this.dating.held = state.held;
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
    this.dating.nextLine();
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
    if (exact) this.dating.exact(exact.date, env.tod, exact.utc, out);
    const told = exact ? undefined : this.calendar.passTold(env.tod); // at the start, in a repeated hour: a line outside it tells the pass
    if (told) this.dating.anchor(told, env.tod, out, false);
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
    if (date) this.dating.anchor(date, env.tod, out, restart);
    else if (restart && exact) this.dating.setInstant(this.calendar.restartExact(exact.date, exact.utc));
    if (daemon === "lmgrd") {
      const vendor = startedVendor(message);
      if (message.startsWith("EXITING")) this.exiting = { tod: env.tod, reason: message, ...this.dating.instantOf(env.tod) };
      else if (restart) this.dating.down(undefined, message, env.tod, out, true);
      else if (vendor !== undefined) this.dating.down(env.startedDaemon(vendor), message, env.tod, out);
    } else if (message.startsWith("Server started on") && env.written === daemon) this.dating.down(daemon, message, env.tod, out); // not a fork
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
    if (verbose?.date && isCalendarDate(verbose.date.year, verbose.date.month, verbose.date.day)) this.dating.anchor(verbose.date, verbose.secondOfDay ?? this.env.tod, out, false);
    const upgrade = kind === "UPGRADE" ? this.holders.upgradeOf(this.env.daemon, who, this.scan) : undefined;
    if (upgrade) {
      for (const event of upgrade) this.place(event, out);
      return;
    }
    if (this.sink !== undefined && (kind === "OUT" || kind === "IN") && this.direct(kind === "IN", who, text, end, out)) return;
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
    const dating = this.dating;
    const at = dating.instant(this.env.tod);
    if (at === undefined) {
      dating.hold({ k: dating.day, tod: this.env.tod, what: "event", event }, out);
      const last = dating.held.at(-1);
      if (wraps && last?.what === "event" && last.event === event) this.wrap.waitFor(event, false);
    } else {
      event.at = at;
      if (wraps) this.wrap.waitFor(event, true);
      else dating.release(event, out);
    }
  }

  /**
   * A checkout or check-in that would go out as it is (dated now, no suffix to wait for, not a
   * package's), written to the sink without an event object: on a debug log most usage lines are,
   * and the parse worker spends less on them. False when it must go the long way.
   */
  private direct(checkin: boolean, who: Who, text: string, end: number, out: SourceEvent[]): boolean {
    const daemon = this.env.daemon, scan = this.scan;
    if (!this.packages.passes(checkin, daemon) || WrappedSuffix.mayWrap(text, scan.whoEnd, end)) return false;
    const at = this.dating.instant(this.env.tod);
    if (at === undefined) return false;
    this.lines.lineAt(daemon, at); // as `release` does
    this.st.events += out.length - this.counted + 1;
    this.counted = 0;
    const handle = scan.verbose === undefined ? undefined : this.names.intern(scan.verbose.handle);
    this.sink!.usage(out, checkin, at, daemon, who, scan.count, handle, checkin ? reasonOf(scan.notes) : undefined);
    return true;
  }

  private unwrap(out: SourceEvent[]): void {
    const event = this.wrap.take();
    if (event) this.dating.release(event, out);
  }

  private endExit(out: SourceEvent[]): void {
    const exiting = this.exiting;
    if (!exiting) return;
    this.exiting = null;
    if (exiting.at !== undefined) this.dating.downAt(exiting.at, undefined, exiting.reason, out);
    else if (this.calendar.holding) this.dating.hold({ k: exiting.k, tod: exiting.tod, what: "down", reason: exiting.reason }, out);
    else this.dating.downAt(this.calendar.lastInstant ?? 0, undefined, exiting.reason, out);
  }

  /** Any line of a vendor daemon proves it was running then. */
  private noteLine(out: SourceEvent[]): void {
    const daemon = this.env.daemon;
    if (daemon === "lmgrd") return;
    const dating = this.dating;
    const at = dating.instant(this.env.tod);
    if (at !== undefined) this.lines.alive(at, daemon, out);
    else {
      // Consecutive lines of a daemon keep only the last — but never the first held line: after a
      // clock step it is the one that says where the step was.
      const last = dating.held.length > 1 ? dating.held.at(-1) : undefined;
      if (last?.what === "line" && last.daemon === daemon) Object.assign(last, { k: dating.day, tod: this.env.tod });
      else dating.hold({ k: dating.day, tod: this.env.tod, what: "line", daemon }, out);
    }
  }

  private unknown(line: string): void {
    this.st.unknown_lines++;
    if (this.st.unknown_samples.length < MAX_SAMPLES) this.st.unknown_samples.push(line);
  }
}
