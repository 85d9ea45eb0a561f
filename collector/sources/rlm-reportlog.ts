// Reprise RLM report log (REPORTLOG std | small | detailed) → SourceEvents (FORMATS.md §3.2).
//
// Check-outs carry a server handle; a check-in names the handle, so pairing is exact. The small
// format's IN carries only the handle, so the source remembers what each open handle holds.
// Dates: `START … mm/dd/yyyy hh:mm`, the periodic bare `mm/dd/yyyy hh:mm` line and `END` give the
// year; an event's `mm/dd` more than six months before the current date is in the next year.
// Small-format times (`hh:mm`, no date) take the current date, rolled over when the clock goes
// back by more than an hour. A time the DST fall-back hour prints twice is read in the pass that
// keeps the records in order; times after a TIMEJUMP are read back by its minutes. `START` (a
// restart, possibly after a crash) and `SHUTDOWN` end every open session at the last time it was
// known open — unless INUSE records follow the START: then it begins a new log file of a server
// that ran on (see settleStart). `DENY … last_attempt 0` means the client will try another
// server: not a denial (counted as ignored). The TIMEZONE line (rlm-timezone.ts) decides the zone a
// file is read in before it is read (parse-file.ts, the daemon's first read); here it is only
// checked (another shape is an unknown line). Checkouts that share one license (`share_handle`) are
// billed as one session (rlm-share-groups.ts).
import type { Holder, LineSource, ParseStats, SourceEvent, SourceOptions } from "./events.ts";
import { quotedFields } from "./quoted-fields.ts";
import { joinGroup, keepListed, leaveGroup, noShareGroups, type ShareGroups } from "./rlm-share-groups.ts";
import { timezoneOfLine } from "./rlm-timezone.ts";
import { addDays, isCalendarDate, type LocalDate, WallClock } from "./wall-clock.ts";

const FULL_DATE = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/;
const SHORT_DATE = /^(\d{1,2})\/(\d{1,2})$/;
const TIME = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/;
// AUTH closes every section (the manual: report writers should ignore it); as unknown lines they took
// the summary's samples from lines that matter.
const KNOWN = new Set(["PRODUCT", "LICENSE", "REPROCESSED", "QUE", "DEQUE", "ROAM_EXTEND", "log", "REREAD", "SWITCH", "RLM", "AUTH", "BADAUTH"]);
// The notes for people under the format line at the head of a report log (quoted in OpenLM's RLM article).
const HEADER_NOTE = /^(Logfile format Copyright |For documentation on this format, |You are encouraged to build tools )/;
// Records after which a START's INUSE records have all come: it was a restart or a new log file.
const AFTER_START = new Set(["START", "OUT", "IN", "DENY", "SHUTDOWN", "END", "TIMEJUMP"]);
const MAX_SAMPLES = 10;

interface ReportLogState {
  format: number | null;
  isv: string;
  date: LocalDate | null;
  lastTod: number;
  /** The latest instant read: a time printed twice (DST fall-back) is read in the pass at or after it. */
  lastAt?: number;
  /** Sum of the server's TIMEJUMPs since START (ms), taken off the times it prints. */
  shift?: number;
  /** A START whose INUSE records are still coming: its time, the last instant before it, and the handles listed. */
  start?: { at: number; before: number; listed: string[] };
  /** Open checkouts of a license of their own, by handle. */
  handles: Record<string, Holder>;
  /** Open checkouts sharing a license (absent in states saved before it was kept). */
  shares?: ShareGroups;
  stats: ParseStats;
}

export class RlmReportLogSource implements LineSource {
  private readonly clock: WallClock;
  private s: ReportLogState = {
    format: null, isv: "rlm", date: null, lastTod: 0, handles: {}, shares: noShareGroups(),
    stats: { lines: 0, events: 0, unknown_lines: 0, unknown_samples: [], undated_lines: 0, ignored_lines: 0, clock_steps: 0 },
  };

  constructor(opts: SourceOptions) {
    this.clock = new WallClock(opts.timezone);
  }

  push(rawLine: string): SourceEvent[] {
    const s = this.s;
    s.stats.lines++;
    const line = (rawLine.charCodeAt(0) === 0xfeff ? rawLine.slice(1) : rawLine).trim();
    if (line === "") return [];
    const t = quotedFields(line);
    const started = s.start && (AFTER_START.has(t[0]!) || FULL_DATE.test(t[0]!)) ? this.settleStart() : [];
    let out = this.record(t, line);
    if (out === undefined) {
      s.stats.unknown_lines++;
      if (s.stats.unknown_samples.length < MAX_SAMPLES) s.stats.unknown_samples.push(line);
      out = [];
    }
    if (started.length > 0) out.unshift(...started);
    s.stats.events += out.length;
    return out;
  }

  end(): SourceEvent[] {
    const out = this.settleStart();
    this.s.stats.events += out.length;
    return out;
  }

  stats(): ParseStats {
    return this.s.stats;
  }

  save(): unknown {
    return structuredClone(this.s);
  }

  restore(state: unknown): void {
    this.s = structuredClone(state as ReportLogState);
    this.s.shares ??= noShareGroups();
  }

  /** The events of one record, or undefined when the line is not a record we know. */
  private record(t: string[], line: string): SourceEvent[] | undefined {
    const s = this.s;
    const kw = t[0]!;
    const small = s.format === 1;
    if (line.startsWith("RLM Report Log Format")) {
      const m = /Format (\d)/.exec(line);
      s.format = m ? Number(m[1]) : null;
      return [];
    }
    if (HEADER_NOTE.test(line)) return [];
    if (kw === "ISV:") {
      s.isv = (t[1] ?? "").replace(/,$/, "") || s.isv;
      return [];
    }
    if (FULL_DATE.test(kw) && t.length === 2) return this.anchorAlive(t[0]!, t[1]!);
    switch (kw) {
      case "START": {
        if (t.length < 4) return undefined;
        const before = s.lastAt;
        const at = this.anchor(t[2]!, t[3]!);
        if (at === undefined) return undefined;
        s.start = { at, before: before ?? at, listed: [] }; // a restart or a new log file: the INUSE records after it tell
        return [];
      }
      case "END":
        return t.length >= 3 ? this.anchorAlive(t[1]!, t[2]!) : undefined;
      case "SHUTDOWN": {
        const at = this.at(t.at(-2), t.at(-1));
        if (at === undefined) return undefined;
        s.handles = {};
        s.shares = noShareGroups();
        return [{ type: "alive", at, daemon: s.isv }, { type: "server_down", at, daemon: s.isv, reason: "SHUTDOWN" }];
      }
      case "OUT":
      case "INUSE": {
        const std = kw === "INUSE" || (!small && t.length >= 17);
        // INUSE has a share_handle before process_id since reportlog v12.2 (12 or 13 fields): its date and time are the last two.
        const f = kw === "INUSE"
          ? { feature: t[1], version: t[2], user: t[4], host: t[5], count: t[7], handle: t[8], share: t.length >= 13 ? t[9] : undefined, date: t.at(-2), time: t.at(-1) }
          : std
            ? { feature: t[1], version: t[2], user: t[4], host: t[5], count: t[7], handle: t[10], share: t[11], date: t[16], time: t[17] }
            : { feature: t[1], version: t[2], user: t[3], host: t[4], count: t[6], handle: t[7], share: t[8], date: undefined, time: t[9] };
        const at = this.at(f.date, f.time);
        const count = Number(f.count);
        if (at === undefined || f.feature === undefined || f.user === undefined || f.host === undefined || f.handle === undefined || !Number.isSafeInteger(count) || count < 1) return undefined;
        if (kw === "INUSE") s.start?.listed.push(f.handle);
        const shares = s.shares!;
        // A member listed again by a new log file, or a checkout that takes no license of its own.
        if (shares.member[f.handle] !== undefined) return [];
        if (joinGroup(shares, f.handle, f.share, s.handles)) {
          s.stats.shared_checkouts = (s.stats.shared_checkouts ?? 0) + 1;
          return [{ type: "alive", at, daemon: s.isv }];
        }
        const holder: Holder = { daemon: s.isv, feature: f.feature, version: f.version!, user: f.user, host: f.host, handle: f.handle, count };
        s.handles[f.handle] = holder;
        return [{ type: "checkout", at, ...holder }];
      }
      case "IN": {
        const std = !small && t.length >= 13;
        const handle = std ? t[10] : t[3];
        const at = std ? this.at(t[11], t[12]) : this.at(undefined, t[4]);
        if (at === undefined || handle === undefined) return undefined;
        const why = t[1];
        const reason = why === "4" ? "inactive" : "normal";
        const groupHeld = leaveGroup(s.shares!, handle);
        if (groupHeld === null) return [{ type: "alive", at, daemon: s.isv }]; // the rest of its group hold the license on
        const held = groupHeld ?? s.handles[handle];
        delete s.handles[handle];
        if (held) return [{ type: "checkin", at, ...held, reason }];
        if (!std) return [{ type: "checkin", at, daemon: s.isv, feature: "", user: "", host: "", handle, reason }];
        return [{ type: "checkin", at, daemon: s.isv, feature: t[2]!, user: t[4]!, host: t[5]!, handle, count: Number(t[7]), reason }];
      }
      case "TIMEJUMP": {
        // `TIMEJUMP [+|-]minutes mm/dd hh:mm:ss`: the clock moved that much within a pass of the
        // server's main loop (at most a minute). Later times are read back by it, so a session
        // across it is billed the time that passed, not the jump (a jump back made it end before it
        // started: lost). As with a FlexLM clock step, this lasts until the next START.
        const minutes = Number(t[1]);
        const tod = t[3] === undefined ? undefined : secondOfDay(t[3]);
        if (!Number.isSafeInteger(minutes) || tod === undefined) return undefined;
        s.shift = (s.shift ?? 0) - minutes * 60_000;
        s.stats.clock_steps = (s.stats.clock_steps ?? 0) + 1;
        if (this.at(t[2], t[3]) === undefined) return undefined;
        s.lastTod = tod; // the clock's time now: small-format times after a jump back are not the next day
        return [];
      }
      case "TIMEZONE":
        return timezoneOfLine(line) ? [] : undefined;
      case "DENY": {
        if (t.length < 10) return undefined;
        const at = this.at(t[9], t[10]);
        if (at === undefined) return undefined;
        if (t[8] === "0") {
          s.stats.ignored_lines!++;
          return [];
        }
        return [{ type: "denial", at, daemon: s.isv, feature: t[1]!, user: t[3]!, host: t[4]!, reason: `why ${t[7]}` }];
      }
    }
    return KNOWN.has(kw) ? [] : undefined;
  }

  /**
   * A new log file (ROTATE, rlmswitchr, rlmnewlog) starts with START too, then lists the licenses in
   * use (INUSE): the server ran on, and what it lists goes on being held (the tracker takes an INUSE
   * of a handle it holds as the same checkout); a handle it does not list ended by the last record
   * before. With nothing listed, the START was a restart (possibly after a crash): every open
   * session ends at the last time it was known open, and printed time is trusted again.
   */
  private settleStart(): SourceEvent[] {
    const s = this.s, start = s.start;
    if (!start) return [];
    delete s.start;
    const daemon = s.isv;
    if (start.listed.length === 0) {
      const at = start.at - (s.shift ?? 0);
      s.handles = {};
      s.shares = noShareGroups();
      s.shift = 0;
      return [{ type: "server_down", at, daemon, reason: "START (server restarted)" }, { type: "alive", at, daemon }];
    }
    const out: SourceEvent[] = [];
    const listed = new Set(start.listed);
    for (const [handle, held] of Object.entries(s.handles)) {
      if (listed.has(handle)) continue;
      delete s.handles[handle];
      out.push({ type: "checkin", at: start.before, ...held, reason: "normal" });
    }
    for (const held of keepListed(s.shares!, listed)) out.push({ type: "checkin", at: start.before, ...held, reason: "normal" });
    out.push({ type: "alive", at: start.at, daemon });
    return out;
  }

  private anchorAlive(date: string, time: string): SourceEvent[] | undefined {
    const at = this.anchor(date, time);
    return at === undefined ? undefined : [{ type: "alive", at, daemon: this.s.isv }];
  }

  private anchor(date: string, time: string): number | undefined {
    const d = FULL_DATE.exec(date);
    const tod = secondOfDay(time);
    if (!d || tod === undefined) return undefined;
    const [month, day, year] = [Number(d[1]), Number(d[2]), Number(d[3])];
    if (!isCalendarDate(year, month, day)) return undefined;
    this.s.date = { year, month, day };
    this.s.lastTod = tod;
    return this.toUtc(this.s.date, tod);
  }

  /** `mm/dd` + `hh:mm[:ss]` (or time only, small format) → UTC ms, with year and day inference. */
  private at(date: string | undefined, time: string | undefined): number | undefined {
    const s = this.s;
    const tod = time === undefined ? undefined : secondOfDay(time);
    if (tod === undefined) return undefined;
    if (!s.date) {
      s.stats.undated_lines!++; // no START or timestamp yet: the year is unknown
      return undefined;
    }
    if (date === undefined) {
      if (tod < s.lastTod - 3600) s.date = addDays(s.date, 1);
      if (tod > s.lastTod || tod < s.lastTod - 3600) s.lastTod = tod;
      return this.toUtc(s.date, tod);
    }
    const d = SHORT_DATE.exec(date);
    if (!d) return undefined;
    const [month, day] = [Number(d[1]), Number(d[2])];
    let year = s.date.year;
    if (month < s.date.month - 6) year++;
    else if (month > s.date.month + 6) year--;
    if (!isCalendarDate(year, month, day)) return undefined;
    const when = { year, month, day };
    if (year > s.date.year || (year === s.date.year && (month > s.date.month || (month === s.date.month && day >= s.date.day)))) {
      if (year !== s.date.year || month !== s.date.month || day !== s.date.day || tod > s.lastTod) s.lastTod = tod;
      s.date = when;
    }
    return this.toUtc(when, tod);
  }

  /**
   * The server writes records as they happen: a time the fall-back hour prints twice is in its
   * second pass when the first would put it before a record already read (an IN at 2:10 after its
   * OUT at 2:30 is 40 minutes later, not 20 before). A minute's slack: DENY and the periodic
   * timestamp print no seconds, so they may read up to 59 s before the record above them.
   */
  private toUtc(date: LocalDate, tod: number): number {
    const s = this.s;
    const shift = s.shift ?? 0;
    let at = this.clock.toUtc(date, tod) + shift;
    if (s.lastAt !== undefined && at < s.lastAt - 60_000) at = this.clock.later(date, tod) + shift;
    if (s.lastAt === undefined || at > s.lastAt) s.lastAt = at;
    return at;
  }
}

function secondOfDay(time: string): number | undefined {
  const m = TIME.exec(time);
  if (!m) return undefined;
  const [h, mi, sec] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  return h < 24 && mi < 60 && sec < 60 ? h * 3600 + mi * 60 + sec : undefined;
}
