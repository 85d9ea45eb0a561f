// SessionTracker: SourceEvents → `usage` intervals and `denial` records (DESIGN.md §4–§5).
//
// - Pairing: a check-in ends the earliest open session with the same daemon, feature, user, host
//   (and handle, when the format has one) and the same license count, else the earliest of any
//   count — FIFO, as FORMATS.md §2.5 describes existing parsers. A check-in with no open session
//   (its checkout predates the file) is counted as `orphan_checkins` and bills nothing.
// - Intervals are cut at multiples of `cut_s` since the epoch (default 3600; `run` uses 300) and
//   at `flush(now)`; `final: true` marks the interval that ends a session.
// - We bill only time a session is provably open: up to the last event or `alive` of its daemon
//   (snapshot sessions: the last snapshot that listed them). `server_down` ends open sessions
//   there, never later. Non-final intervals stop one second short of that horizon so that a
//   check-in at the horizon still has a non-empty final interval.
// - Session ids are deterministic (SHA-256 of source|daemon|feature|user|host|handle|start|ordinal)
//   so re-parsing a file yields identical records.
import { createHash } from "node:crypto";
import type { Holder, SourceEvent } from "../sources/events.ts";
import { type RecordBody, type UsageData, wholeSecond } from "./records.ts";

/** A held license (who holds what, as the source named it) with the session's bookkeeping. */
export interface OpenSession extends Holder {
  id: string;
  key: string;
  start: number;
  /** Intervals up to here have been emitted. */
  emitted: number;
  /** Snapshot sessions: identity in the snapshot and the last snapshot time that listed it. */
  snapshot?: { identity: string; seenAt: number };
}

export interface TrackerStats {
  sessions_opened: number;
  sessions_closed: number;
  denials: number;
  orphan_checkins: number;
  duplicate_checkouts: number;
  zero_length_sessions: number;
}

export interface TrackerState {
  v: 1;
  cut_s: number;
  open: OpenSession[];
  lastKnown: Record<string, number>;
  cutDone: Record<string, number>;
  lastSnapshotAt: Record<string, number>;
  ordinals: Record<string, number>;
  stats: TrackerStats;
}

export interface TrackerOptions {
  /** Configured source name (`data.source`). */
  source: string;
  cut_s?: number;
}

const ALL = "*";

export class SessionTracker {
  readonly source: string;
  private readonly cutMs: number;
  private open = new Map<string, OpenSession[]>();
  private bySnapshot = new Map<string, OpenSession>();
  private lastKnown: Record<string, number> = {};
  private cutDone: Record<string, number> = {};
  private lastSnapshotAt: Record<string, number> = {};
  private ordinals: Record<string, number> = {};
  private maxAt = -Infinity;
  private ordinalsAdded = 0;
  private st: TrackerStats = { sessions_opened: 0, sessions_closed: 0, denials: 0, orphan_checkins: 0, duplicate_checkouts: 0, zero_length_sessions: 0 };

  constructor(opts: TrackerOptions) {
    const cut = opts.cut_s ?? 3600;
    if (!Number.isSafeInteger(cut) || cut < 1) throw new RangeError(`cut_s must be a positive integer, got ${cut}`);
    this.source = opts.source;
    this.cutMs = cut * 1000;
  }

  apply(event: SourceEvent): RecordBody[] {
    const out: RecordBody[] = [];
    const at = wholeSecond(event.at);
    switch (event.type) {
      case "checkout":
        this.touch(event.daemon, at);
        this.checkout(event, at, event.handle ?? "", undefined);
        break;
      case "checkin":
        this.touch(event.daemon, at);
        this.checkin(event, at, out);
        break;
      case "denial":
        this.touch(event.daemon, at);
        this.st.denials++;
        out.push({ kind: "denial", data: { source: this.source, daemon: event.daemon, feature: event.feature, user: event.user, host: event.host, at, reason: event.reason } });
        break;
      case "alive":
        this.touch(event.daemon ?? ALL, at);
        break;
      case "server_down":
        for (const s of this.sessions()) {
          if (event.daemon === undefined || s.daemon === event.daemon) this.close(s, this.horizon(s), out);
        }
        break;
      case "snapshot":
        this.snapshot(event.holders, at, event.daemon, out);
        break;
    }
    this.advance(event.type === "alive" ? (event.daemon ?? ALL) : "daemon" in event ? (event.daemon ?? ALL) : ALL, out);
    return out;
  }

  /** Emit every open session's time up to `now` (within what is provably open). Not final. */
  flush(now: number): RecordBody[] {
    const out: RecordBody[] = [];
    for (const s of this.sessions()) this.emitUntil(s, Math.min(wholeSecond(now), this.horizon(s) - 1000), false, out);
    return out;
  }

  /** End of input (`parse`): open sessions are reported up to their last known-open time, not final. */
  finish(): RecordBody[] {
    const out: RecordBody[] = [];
    for (const s of this.sessions()) this.emitUntil(s, this.horizon(s), false, out);
    return out;
  }

  heartbeat(sources: Array<{ source: string; up: boolean; at: number }>): RecordBody {
    return { kind: "heartbeat", data: { sources: sources.map((s) => ({ source: s.source, up: s.up, at: wholeSecond(s.at) })) } };
  }

  openSessions(): OpenSession[] {
    return [...this.sessions()].map((s) => ({ ...s }));
  }

  stats(): TrackerStats {
    return { ...this.st };
  }

  save(): TrackerState {
    return structuredClone({ v: 1, cut_s: this.cutMs / 1000, open: [...this.sessions()], lastKnown: this.lastKnown, cutDone: this.cutDone, lastSnapshotAt: this.lastSnapshotAt, ordinals: this.ordinals, stats: this.st });
  }

  static restore(source: string, state: TrackerState): SessionTracker {
    const t = new SessionTracker({ source, cut_s: state.cut_s });
    const s = structuredClone(state);
    for (const session of s.open) t.add(session);
    t.lastKnown = s.lastKnown;
    t.cutDone = s.cutDone;
    t.lastSnapshotAt = s.lastSnapshotAt;
    t.ordinals = s.ordinals;
    t.st = s.stats;
    t.maxAt = Math.max(-Infinity, ...Object.values(s.lastKnown));
    return t;
  }

  private *sessions(): Generator<OpenSession> {
    for (const list of [...this.open.values()]) yield* [...list];
  }

  private touch(daemon: string, at: number): void {
    if (!((this.lastKnown[daemon] ?? -Infinity) >= at)) this.lastKnown[daemon] = at;
    if (at > this.maxAt) this.maxAt = at;
  }

  private horizon(s: OpenSession): number {
    if (s.snapshot) return Math.max(s.snapshot.seenAt, s.start);
    return Math.max(this.lastKnown[s.daemon] ?? -Infinity, this.lastKnown[ALL] ?? -Infinity, s.start);
  }

  private checkout(h: Omit<Holder, "handle">, start: number, handle: string, snapshot: OpenSession["snapshot"]): void {
    const key = [h.daemon, h.feature, h.user, h.host, handle].join("|");
    const list = this.open.get(key);
    if (handle !== "" && !snapshot && list && list.length > 0) {
      this.st.duplicate_checkouts++; // a handle is held once: INUSE / re-listed checkouts
      return;
    }
    const ordinalKey = `${key}|${start}`;
    const ordinal = this.ordinals[ordinalKey] ?? 0;
    this.ordinals[ordinalKey] = ordinal + 1;
    this.pruneOrdinals();
    const id = createHash("sha256").update([this.source, key, start, ordinal].join("|")).digest("hex").slice(0, 32);
    const session: OpenSession = {
      id, key, daemon: h.daemon, feature: h.feature, ...(h.version !== undefined ? { version: h.version } : {}),
      user: h.user, host: h.host, ...(handle !== "" ? { handle } : {}), count: h.count, start, emitted: start,
      ...(snapshot ? { snapshot } : {}),
    };
    this.add(session);
    this.st.sessions_opened++;
  }

  private add(session: OpenSession): void {
    const list = this.open.get(session.key);
    if (list) list.push(session);
    else this.open.set(session.key, [session]);
    if (session.snapshot) this.bySnapshot.set(session.snapshot.identity, session);
  }

  private checkin(e: Extract<SourceEvent, { type: "checkin" }>, at: number, out: RecordBody[]): void {
    const key = [e.daemon, e.feature, e.user, e.host, e.handle ?? ""].join("|");
    const list = this.open.get(key);
    const session = list?.find((s) => s.count === e.count) ?? list?.[0];
    if (!session) {
      this.st.orphan_checkins++;
      return;
    }
    this.close(session, at, out);
  }

  private close(s: OpenSession, end: number, out: RecordBody[]): void {
    const list = this.open.get(s.key)!;
    list.splice(list.indexOf(s), 1);
    if (list.length === 0) this.open.delete(s.key);
    if (s.snapshot) this.bySnapshot.delete(s.snapshot.identity);
    this.st.sessions_closed++;
    if (end <= s.start) this.st.zero_length_sessions++;
    else this.emitUntil(s, end, true, out);
  }

  private snapshot(holders: Array<Holder & { start: number }>, at: number, daemon: string | undefined, out: RecordBody[]): void {
    const scope = daemon ?? ALL;
    this.touch(scope, at);
    const previous = Math.max(this.lastSnapshotAt[scope] ?? -Infinity, this.lastSnapshotAt[ALL] ?? -Infinity);
    const listed = new Set<string>();
    for (const h of holders) {
      const start = wholeSecond(h.start);
      const identity = [h.daemon, h.feature, h.version ?? "", h.user, h.host, h.handle ?? "", start].join("|");
      listed.add(identity);
      const known = this.bySnapshot.get(identity);
      if (known) known.snapshot!.seenAt = at;
      // Not listed in the previous snapshot, so not held then, whatever its start field says.
      else this.checkout(h, Math.min(at, Math.max(start, previous)), h.handle ?? "", { identity, seenAt: at });
    }
    for (const s of [...this.bySnapshot.values()]) {
      if ((daemon === undefined || s.daemon === daemon) && !listed.has(s.snapshot!.identity)) this.close(s, s.snapshot!.seenAt, out);
    }
    this.lastSnapshotAt[scope] = at;
  }

  /** Emit intervals up to the last cut boundary strictly before what is known open. */
  private advance(daemon: string, out: RecordBody[]): void {
    const known = Math.max(this.lastKnown[daemon] ?? -Infinity, this.lastKnown[ALL] ?? -Infinity);
    const boundary = Math.floor((known - 1000) / this.cutMs) * this.cutMs;
    if (!Number.isFinite(boundary) || boundary <= (this.cutDone[daemon] ?? -Infinity)) return;
    this.cutDone[daemon] = boundary;
    for (const s of this.sessions()) {
      if (daemon !== ALL && s.daemon !== daemon) continue;
      const limit = Math.floor((this.horizon(s) - 1000) / this.cutMs) * this.cutMs;
      this.emitUntil(s, Math.min(boundary, limit), false, out);
    }
  }

  private emitUntil(s: OpenSession, to: number, final: boolean, out: RecordBody[]): void {
    let a = s.emitted;
    while (a < to) {
      const b = Math.min(to, (Math.floor(a / this.cutMs) + 1) * this.cutMs);
      const data: UsageData = {
        source: this.source, daemon: s.daemon, feature: s.feature, ...(s.version !== undefined ? { version: s.version } : {}),
        user: s.user, host: s.host, session: s.id, start: a, end: b, count: s.count, final: final && b === to,
      };
      out.push({ kind: "usage", data });
      a = b;
    }
    if (to > s.emitted) s.emitted = to;
  }

  /** Ordinals only tell apart sessions started in the same second; old ones can go. */
  private pruneOrdinals(): void {
    if (++this.ordinalsAdded < 10_000) return;
    this.ordinalsAdded = 0;
    const keepAfter = this.maxAt - 2 * 86_400_000;
    for (const k of Object.keys(this.ordinals)) if (Number(k.slice(k.lastIndexOf("|") + 1)) < keepAfter) delete this.ordinals[k];
  }
}
