// The envelope of a FlexLM debug-log line (FORMATS.md §2.1): `h:mm:ss (daemon) message`, or with
// `lmgrd -datestamp` an ISO 8601 time with its UTC offset. Read in place (no line string is cut
// out), a BOM or blanks before it allowed.
//
// A forked vendor daemon writes as `vendor_N`: it is that vendor (its lines prove the vendor alive,
// its checkouts pair with the vendor's check-ins, a vendor restart ends them), unless lmgrd started
// a daemon of exactly that name.
import type { NameTable } from "./name-table.ts";
import { isCalendarDate, type LocalDate } from "./wall-clock.ts";

const DATESTAMP = /(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}(?::?\d{2})?) \(([^)]+)\)(?= |$) ?/y;
const FORKED = /^(.+)_\d+$/;

export class FlexlmEnvelope {
  /** The line's time of day (seconds), its daemon (a fork read as its vendor) as written and as read, where its message starts. */
  tod = 0;
  daemon = "";
  written = "";
  message = 0;
  /** `-datestamp` lines: the printed date and the exact instant; null for time-only lines. */
  exact: { date: LocalDate; utc: number } | null = null;
  private readonly names: NameTable;
  private readonly daemons = new Map<string, string>();
  private started = new Set<string>();

  constructor(names: NameTable) {
    this.names = names;
  }

  /** Reads the envelope of text[start, end); false when the line has none. */
  read(text: string, start: number, end: number): boolean {
    this.exact = null;
    let i = start;
    for (let c = text.charCodeAt(i); i < end && (c === 32 || c === 9 || c === 0xfeff); c = text.charCodeAt(++i));
    if (end - i > 20 && text.charCodeAt(i + 4) === 45 && text.charCodeAt(i + 10) === 84) return this.datestamp(text, i, end);
    let h = digit(text, i++);
    if (h < 0) return false;
    const h2 = digit(text, i);
    if (h2 >= 0) { h = h * 10 + h2; i++; }
    if (text.charCodeAt(i) !== 58) return false;
    const m = digit(text, i + 1) * 10 + digit(text, i + 2);
    const s = digit(text, i + 4) * 10 + digit(text, i + 5);
    if (text.charCodeAt(i + 3) !== 58 || text.charCodeAt(i + 6) !== 32 || text.charCodeAt(i + 7) !== 40) return false;
    if (!(m >= 0 && m < 60 && s >= 0 && s < 60 && h < 24)) return false;
    const close = text.indexOf(")", i + 8);
    if (close <= i + 8 || close >= end) return false;
    const after = close + 1;
    if (after < end && text.charCodeAt(after) !== 32) return false;
    this.tod = h * 3600 + m * 60 + s;
    // Consecutive lines mostly come from one daemon: compare in place before cutting its name out.
    const written = this.written;
    if (close - (i + 8) !== written.length || !text.startsWith(written, i + 8)) this.setDaemon(text.slice(i + 8, close));
    this.message = after + 1;
    return true;
  }

  /** lmgrd started a daemon of this name: lines written so are that daemon, not a fork. */
  startedDaemon(name: string): string {
    this.started.add(name);
    this.daemons.delete(name);
    this.written = "";
    return this.daemonName(name);
  }

  get startedNames(): string[] {
    return [...this.started];
  }

  set startedNames(names: string[]) {
    this.started = new Set(names);
    this.daemons.clear();
    this.written = "";
  }

  /** `yyyy-mm-ddThh:mm:ss±hh:mm (daemon) message`. */
  private datestamp(text: string, i: number, end: number): boolean {
    DATESTAMP.lastIndex = i;
    const m = DATESTAMP.exec(text);
    if (!m || m.index + m[0].length > end) return false;
    const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
    if (!isCalendarDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return false;
    const zone = m[7]!;
    const offset = zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(-2)) : 0));
    this.tod = h * 3600 + mi * 60 + s;
    this.setDaemon(m[8]!);
    this.message = m.index + m[0].length;
    this.exact = { date: { year: y, month: mo, day: d }, utc: Date.UTC(y, mo - 1, d, h, mi, s) - offset * 60_000 };
    return true;
  }

  private setDaemon(written: string): void {
    this.written = this.names.intern(written);
    this.daemon = this.daemonName(this.written);
  }

  private daemonName(written: string): string {
    let name = this.daemons.get(written);
    if (name === undefined) {
      const fork = this.started.has(written) ? null : FORKED.exec(written);
      name = this.names.intern(fork ? fork[1]! : written);
      this.daemons.set(this.names.intern(written), name);
    }
    return name;
  }
}

function digit(text: string, i: number): number {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1000;
}
