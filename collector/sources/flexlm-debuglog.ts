// FlexLM lmgrd / vendor-daemon debug log → SourceEvents (FORMATS.md §2).
//
// Dates: lines carry only h:mm:ss. The date comes from anchors (`TIMESTAMP M/D/YYYY`,
// `Server's System Date and Time: …`, `… started on HOST (…) (M/D/YYYY)`, SLOG `Time:` /
// `Start-Date:`), re-anchored at every one, and between anchors from midnight roll-over: the clock
// going back by more than an hour means the next day; a line less than an hour "in the future"
// across midnight (lmgrd and vendor lines interleave) belongs to the previous day.
//
// Lines before the first anchor (a rotated or truncated log) are buffered, up to
// MAX_UNDATED, and dated backwards from the first anchor with the same roll-over rule. If no
// anchor ever comes they are dropped and counted as `undated_lines`: we never bill time whose
// date we cannot prove.
//
// Restarts: `(lmgrd) … started on`, `(lmgrd) EXITING`, `(lmgrd) Started DAEMON (pid …)` and
// `(DAEMON) Server started on` end that daemon's open sessions (`server_down`), preceded by an
// `alive` at the daemon's last line before it, so the tracker ends them at that time, never later.
// EXITING takes effect after the `IN … (SHUTDOWN)` lines that may follow it in the same second.
//
// Autodesk packages: adskflex logs a package and its component for one checkout (OUT package,
// OUT component at the same second for the same user@host; IN in reverse order). We report the
// component (the product actually used) and pair the package silently. Features named in
// `package_features` are always treated so, in any daemon. To see the pair, an adskflex OUT/DENIED
// of a feature is held until the next usage line (in a live tail: until the next event).
import type { LineSource, ParseStats, SourceEvent, SourceOptions } from "./events.ts";
import { parseUsageMessage } from "./flexlm-usage-line.ts";
import { addDays, isCalendarDate, type LocalDate, WallClock } from "./wall-clock.ts";

const ENVELOPE = /^\s*(\d{1,2}):(\d{2}):(\d{2}) \(([^)]+)\)(?: (.*))?$/;
const TIMESTAMP = /^TIMESTAMP (\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const SYSTEM_DATE = /(?:System Date and Time|Start-Date|^\(@[^)]*\) Time): \w{3} (\w{3}) (\d{1,2}) (\d{4}) /;
const STARTED_ON = /started on .*\((\d{1,2})\/(\d{1,2})\/(\d{4})\)$/;
const VENDOR_STARTED = /^Started (\S+) \(pid \d+\)/;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const AUTODESK_DAEMONS = new Set(["adskflex"]);
const ROLLOVER_S = 3600;
const MAX_UNDATED = 100_000;
const MAX_SAMPLES = 10;
const ALIVE_EVERY_MS = 60_000;

type Pending = { tod: number; event: SourceEvent };

interface DebugLogState {
  date: LocalDate | null;
  lastTod: number;
  undated: Pending[];
  held: SourceEvent | null;
  suppressed: Record<string, number>;
  lastLineAt: Record<string, number>;
  lastAliveAt: Record<string, number>;
  exiting: { tod: number; reason: string } | null;
  stats: ParseStats;
}

export class FlexlmDebugLogSource implements LineSource {
  private readonly clock: WallClock;
  private readonly packageFeatures: Set<string>;
  private s: DebugLogState;

  constructor(opts: SourceOptions) {
    this.clock = new WallClock(opts.timezone);
    this.packageFeatures = new Set(opts.package_features ?? []);
    this.s = {
      date: null, lastTod: 0, undated: [], held: null, suppressed: {}, lastLineAt: {}, lastAliveAt: {}, exiting: null,
      stats: { lines: 0, events: 0, unknown_lines: 0, unknown_samples: [], undated_lines: 0, package_lines: 0, ignored_lines: 0 },
    };
  }

  push(rawLine: string): SourceEvent[] {
    const stats = this.s.stats;
    stats.lines++;
    const line = rawLine.charCodeAt(0) === 0xfeff ? rawLine.slice(1).trimEnd() : rawLine.trimEnd();
    if (line === "") return [];
    const m = ENVELOPE.exec(line);
    if (!m) return this.unknown(line);
    const tod = Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    if (tod >= 86400) return this.unknown(line);
    const daemon = m[4]!;
    const message = m[5] ?? "";
    const out: SourceEvent[] = [];

    const usage = message.length > 3 && message.charCodeAt(0) <= 90 ? parseUsageMessage(message) : undefined;
    // lmgrd may log EXITING before the vendor's `IN … (SHUTDOWN)` lines: let those pair first.
    if (this.s.exiting && !(usage?.kind === "IN" && usage.notes.includes("SHUTDOWN"))) this.endExit(out);
    if (usage) {
      let event: SourceEvent | undefined;
      const who = { daemon, feature: usage.feature, user: usage.user, host: usage.host };
      if (usage.kind === "OUT") event = { type: "checkout", at: 0, ...who, count: usage.count };
      else if (usage.kind === "IN") {
        const note = usage.notes.join(" ");
        const reason = note === "SHUTDOWN" ? "shutdown" : note === "INACTIVE" ? "inactive" : "normal";
        event = { type: "checkin", at: 0, ...who, count: usage.count, reason };
      } else if (usage.kind === "DENIED") {
        event = { type: "denial", at: 0, ...who, reason: usage.notes.at(-1) ?? "denied" };
      } else stats.ignored_lines!++; // UNSUPPORTED precedes a successful OUT from another line; QUEUED waits
      if (event) this.place(tod, event, out);
      else this.noteLine(tod, daemon, out);
      return out;
    }
    if (/^(OUT|IN|DENIED|UNSUPPORTED|QUEUED|DEQUEUED|UPGRADE):/.test(message)) return this.unknown(line);

    const anchor = this.anchorDate(daemon, message);
    if (anchor) this.anchor(anchor, tod, out);
    if (daemon === "lmgrd") {
      const vendor = VENDOR_STARTED.exec(message);
      if (message.startsWith("EXITING")) this.s.exiting = { tod, reason: message };
      else if (STARTED_ON.test(message)) this.down(tod, undefined, message, out);
      else if (vendor) this.down(tod, vendor[1]!, message, out);
    } else if (message.startsWith("Server started on")) this.down(tod, daemon, message, out);
    this.noteLine(tod, daemon, out);
    return out;
  }

  end(): SourceEvent[] {
    const out: SourceEvent[] = [];
    this.endExit(out);
    this.release(out);
    this.s.stats.undated_lines! += this.s.undated.length;
    this.s.undated = [];
    return out;
  }

  stats(): ParseStats {
    return this.s.stats;
  }

  save(): unknown {
    return structuredClone(this.s);
  }

  restore(state: unknown): void {
    this.s = structuredClone(state as DebugLogState);
  }

  private endExit(out: SourceEvent[]): void {
    const exiting = this.s.exiting;
    if (!exiting) return;
    this.s.exiting = null;
    this.down(exiting.tod, undefined, exiting.reason, out);
  }

  private unknown(line: string): SourceEvent[] {
    const stats = this.s.stats;
    stats.unknown_lines++;
    if (stats.unknown_samples.length < MAX_SAMPLES) stats.unknown_samples.push(line);
    return [];
  }

  private anchorDate(daemon: string, message: string): LocalDate | undefined {
    let y: number, mo: number, d: number;
    let m = TIMESTAMP.exec(message) ?? (daemon === "lmgrd" ? STARTED_ON.exec(message) : null);
    if (m) [mo, d, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
    else {
      m = SYSTEM_DATE.exec(message);
      if (!m) return undefined;
      [mo, d, y] = [MONTHS.indexOf(m[1]!) + 1, Number(m[2]), Number(m[3])];
    }
    return isCalendarDate(y, mo, d) ? { year: y, month: mo, day: d } : undefined;
  }

  /** A date anchor: date the buffered lines backwards from it, then continue forwards. */
  private anchor(date: LocalDate, tod: number, out: SourceEvent[]): void {
    const buffered = this.s.undated;
    if (buffered.length > 0) {
      let day = date;
      let next = tod;
      for (let i = buffered.length - 1; i >= 0; i--) {
        const p = buffered[i]!;
        if (p.tod - next > ROLLOVER_S) day = addDays(day, -1);
        if (p.tod < next || p.tod - next > ROLLOVER_S) next = p.tod;
        p.event.at = this.clock.toUtc(day, p.tod);
      }
      this.s.undated = [];
      for (const p of buffered) this.filterPackages(p.event, out);
    }
    this.s.date = date;
    this.s.lastTod = tod;
  }

  /** Date a parsed line (or buffer it until the first anchor) and pass it on. */
  private place(tod: number, event: SourceEvent, out: SourceEvent[]): void {
    const at = this.dateOf(tod);
    if (at === undefined) {
      if (this.s.undated.length < MAX_UNDATED) this.s.undated.push({ tod, event });
      else this.s.stats.undated_lines!++;
      return;
    }
    event.at = at;
    this.filterPackages(event, out);
  }

  private dateOf(tod: number): number | undefined {
    const s = this.s;
    if (!s.date) return undefined;
    const delta = tod - s.lastTod;
    if (delta < -ROLLOVER_S) {
      s.date = addDays(s.date, 1);
      s.lastTod = tod;
    } else if (delta > 86400 - ROLLOVER_S) {
      return this.clock.toUtc(addDays(s.date, -1), tod); // a late line from before midnight
    } else if (delta > 0) s.lastTod = tod;
    return this.clock.toUtc(s.date, tod);
  }

  private down(tod: number, daemon: string | undefined, reason: string, out: SourceEvent[]): void {
    this.release(out);
    const at = this.dateOf(tod);
    if (at === undefined) return; // no session can be open before the first dated line
    for (const [d, last] of Object.entries(this.s.lastLineAt)) {
      if (daemon === undefined || d === daemon) this.emit({ type: "alive", at: last, daemon: d }, out);
    }
    this.emit({ type: "server_down", at, ...(daemon !== undefined ? { daemon } : {}), reason }, out);
  }

  /** Any line of a daemon proves it was running then; tell the tracker at most once a minute. */
  private noteLine(tod: number, daemon: string, out: SourceEvent[]): void {
    if (daemon === "lmgrd" || !this.s.date) return;
    const at = this.dateOf(tod)!;
    this.s.lastLineAt[daemon] = at;
    if (at - (this.s.lastAliveAt[daemon] ?? -Infinity) >= ALIVE_EVERY_MS) {
      this.s.lastAliveAt[daemon] = at;
      this.emit({ type: "alive", at, daemon }, out);
    }
  }

  private filterPackages(event: SourceEvent, out: SourceEvent[]): void {
    if (event.type === "checkout" || event.type === "checkin" || event.type === "denial") {
      this.s.lastLineAt[event.daemon] = event.at;
      const key = `${event.daemon}|${event.feature}|${event.user}|${event.host}`;
      const held = this.s.held;
      if (held) {
        this.s.held = null;
        if (held.type === event.type && isComponentOf(held, event)) {
          this.s.stats.package_lines!++;
          if (held.type === "checkout") this.s.suppressed[heldKey(held)] = (this.s.suppressed[heldKey(held)] ?? 0) + 1;
          this.emit(event, out);
          return;
        }
        this.emit(held, out);
      }
      if (this.packageFeatures.has(event.feature)) {
        this.s.stats.package_lines!++;
        if (event.type === "checkout") this.s.suppressed[key] = (this.s.suppressed[key] ?? 0) + 1;
        else if (event.type === "checkin" && (this.s.suppressed[key] ?? 0) > 0) this.s.suppressed[key]!--;
        return;
      }
      if (event.type === "checkin" && (this.s.suppressed[key] ?? 0) > 0) {
        if (--this.s.suppressed[key]! === 0) delete this.s.suppressed[key];
        this.s.stats.package_lines!++;
        return;
      }
      if (event.type !== "checkin" && AUTODESK_DAEMONS.has(event.daemon)) {
        this.s.held = event; // wait one line: is it a package followed by its component?
        return;
      }
    }
    this.emit(event, out);
  }

  private release(out: SourceEvent[]): void {
    const held = this.s.held;
    if (held) {
      this.s.held = null;
      this.emit(held, out);
    }
  }

  private emit(event: SourceEvent, out: SourceEvent[]): void {
    out.push(event);
    this.s.stats.events++;
  }
}

type Usage = Extract<SourceEvent, { type: "checkout" | "denial" }>;

function heldKey(e: Usage): string {
  return `${e.daemon}|${e.feature}|${e.user}|${e.host}`;
}

function isComponentOf(held: SourceEvent, next: SourceEvent): boolean {
  if (held.type !== "checkout" && held.type !== "denial") return false;
  if (next.type !== held.type) return false;
  return next.at === held.at && next.daemon === held.daemon && next.user === held.user && next.host === held.host && next.feature !== held.feature;
}
