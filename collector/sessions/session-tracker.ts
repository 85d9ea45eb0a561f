// SessionTracker: SourceEvents → `usage` intervals and `denial` records (DESIGN.md §4–§5).
//
// - Pairing: a check-in ends the earliest open session with the same daemon, feature, user, host,
//   product (token pools) and handle (when the format has one) and the same license count, else
//   the earliest of any count — FIFO, as FORMATS.md §2.5 describes existing parsers. A check-in with
//   no open session (its checkout predates the file) is counted as `orphan_checkins`, bills nothing.
// - Intervals are cut at multiples of `cut_s` since the epoch (default 3600; `run` uses 300) and
//   at `flush(now)`; `final: true` marks the interval that ends a session.
// - We bill only time a session is provably open: up to the last event or `alive` of its daemon
//   (snapshot sessions: the last snapshot that listed them). `server_down` ends open sessions
//   there, never later; nothing of that daemon being open after it, what was known of it is
//   forgotten (a server whose clock was reset while down starts afresh). Non-final intervals stop
//   one second short of that horizon so that a check-in at the horizon still has a non-empty final.
// - Session ids are deterministic (SHA-256 of source|daemon|feature|user|host|handle[|product]|start|ordinal)
//   so re-parsing a file yields identical records.
// - Output is queued (interval-queue.ts): `feed*` then `take(max)` streams it in bounded batches
//   whatever the span of a session; `apply`/`flush`/`finish` feed and take everything at once.
import * as crypto from "node:crypto";
import type { Holder, SourceEvent } from "../sources/events.ts";
import { IntervalQueue, type QueuedOutput, type UsageTemplate } from "./interval-queue.ts";
import { type RecordBody, wholeSecond } from "./records.ts";

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
  /** Output fed but not taken yet (only when a caller takes in batches and saves in between). */
  queued?: QueuedOutput[];
}

export interface TrackerOptions {
  /** Configured source name (`data.source`). */
  source: string;
  cut_s?: number;
}

const ALL = "*";
type Hash = (algorithm: string, data: string, encoding: "hex") => string;
// One call instead of a Hash object per session (Node ≥ 20.12); older Node 20 builds fall back.
const oneShot = (crypto as unknown as { hash?: Hash }).hash;
const sha256Hex: (data: string) => string = oneShot ? (data) => oneShot("sha256", data, "hex") : (data) => crypto.createHash("sha256").update(data).digest("hex");

export class SessionTracker {
  readonly source: string;
  private readonly cutMs: number;
  private readonly queue: IntervalQueue;
  private open = new Map<string, OpenSession[]>();
  private bySnapshot = new Map<string, OpenSession>();
  private lastKnown = new Map<string, number>();
  private cutDone = new Map<string, number>();
  private lastSnapshotAt: Record<string, number> = {};
  private ordinals = new Map<string, number>();
  private maxAt = -Infinity;
  private ordinalsAdded = 0;
  private st: TrackerStats = { sessions_opened: 0, sessions_closed: 0, denials: 0, orphan_checkins: 0, duplicate_checkouts: 0, zero_length_sessions: 0 };

  constructor(opts: TrackerOptions) {
    const cut = opts.cut_s ?? 3600;
    if (!Number.isSafeInteger(cut) || cut < 1) throw new RangeError(`cut_s must be a positive integer, got ${cut}`);
    this.source = opts.source;
    this.cutMs = cut * 1000;
    this.queue = new IntervalQueue(this.cutMs);
  }

  /** Feed one event and take everything it produced. */
  apply(event: SourceEvent): RecordBody[] {
    this.feed(event);
    return this.queue.take();
  }

  /** Emit every open session's time up to `now` (within what is provably open). Not final. */
  flush(now: number): RecordBody[] {
    this.feedCut(now);
    return this.queue.take();
  }

  /** End of input (`parse`): open sessions are reported up to their last known-open time, not final. */
  finish(): RecordBody[] {
    this.feedEnd();
    return this.queue.take();
  }

  /** Up to `max` records of what was fed, in order. */
  take(max = Infinity): RecordBody[] {
    return this.queue.take(max);
  }

  feed(event: SourceEvent): void {
    const at = wholeSecond(event.at);
    switch (event.type) {
      case "checkout":
        this.touch(event.daemon, at);
        this.checkout(event, at, event.handle ?? "", undefined);
        this.advance(event.daemon);
        return;
      case "checkin":
        this.touch(event.daemon, at);
        this.checkin(event, at);
        this.advance(event.daemon);
        return;
      case "denial":
        this.touch(event.daemon, at);
        this.st.denials++;
        this.queue.record({ kind: "denial", data: { source: this.source, daemon: event.daemon, feature: event.feature, user: event.user, host: event.host, at, reason: event.reason } });
        this.advance(event.daemon);
        return;
      case "alive":
        this.touch(event.daemon ?? ALL, at);
        this.advance(event.daemon ?? ALL);
        return;
      case "server_down":
        this.down(event.daemon);
        return;
      case "snapshot":
        this.snapshot(event.holders, at, event.daemon);
        this.advance(event.daemon ?? ALL);
    }
  }

  feedCut(now: number): void {
    const until = wholeSecond(now);
    for (const list of this.open.values()) for (const s of list) this.emitUntil(s, Math.min(until, this.horizon(s) - 1000), false);
  }

  feedEnd(): void {
    for (const list of this.open.values()) for (const s of list) this.emitUntil(s, this.horizon(s), false);
  }

  heartbeat(sources: Array<{ source: string; up: boolean; at: number }>): RecordBody {
    return { kind: "heartbeat", data: { sources: sources.map((s) => ({ source: s.source, up: s.up, at: wholeSecond(s.at) })) } };
  }

  openSessions(): OpenSession[] {
    return this.sessions().map((s) => ({ ...s }));
  }

  stats(): TrackerStats {
    return { ...this.st };
  }

  save(): TrackerState {
    const state: TrackerState = {
      v: 1, cut_s: this.cutMs / 1000, open: this.sessions(), lastKnown: Object.fromEntries(this.lastKnown), cutDone: Object.fromEntries(this.cutDone),
      lastSnapshotAt: this.lastSnapshotAt, ordinals: Object.fromEntries(this.ordinals), stats: this.st,
    };
    if (!this.queue.empty) state.queued = this.queue.save();
    return structuredClone(state);
  }

  static restore(source: string, state: TrackerState): SessionTracker {
    const t = new SessionTracker({ source, cut_s: state.cut_s });
    const s = structuredClone(state);
    for (const session of s.open) t.add(session);
    t.lastKnown = new Map(Object.entries(s.lastKnown));
    t.cutDone = new Map(Object.entries(s.cutDone));
    t.lastSnapshotAt = s.lastSnapshotAt;
    t.ordinals = new Map(Object.entries(s.ordinals));
    t.st = s.stats;
    t.maxAt = Math.max(-Infinity, ...t.lastKnown.values());
    if (s.queued) t.queue.restore(s.queued);
    return t;
  }

  private sessions(): OpenSession[] {
    const all: OpenSession[] = [];
    for (const list of this.open.values()) for (const s of list) all.push(s);
    return all;
  }

  private touch(daemon: string, at: number): void {
    if (!((this.lastKnown.get(daemon) ?? -Infinity) >= at)) this.lastKnown.set(daemon, at);
    if (at > this.maxAt) this.maxAt = at;
  }

  private horizon(s: OpenSession): number {
    if (s.snapshot) return Math.max(s.snapshot.seenAt, s.start);
    return Math.max(this.lastKnown.get(s.daemon) ?? -Infinity, this.lastKnown.get(ALL) ?? -Infinity, s.start);
  }

  private down(daemon: string | undefined): void {
    for (const s of this.sessions()) if (daemon === undefined || s.daemon === daemon) this.close(s, this.horizon(s));
    if (daemon === undefined) {
      this.lastKnown.clear();
      this.cutDone.clear();
    } else {
      this.lastKnown.delete(daemon);
      this.cutDone.delete(daemon);
    }
  }

  private checkout(h: Omit<Holder, "handle">, start: number, handle: string, snapshot: OpenSession["snapshot"]): void {
    const key = holderKey(h, handle);
    const list = this.open.get(key);
    if (handle !== "" && !snapshot && list !== undefined && list.length > 0) {
      this.st.duplicate_checkouts++; // a handle is held once: INUSE / re-listed checkouts
      return;
    }
    const ordinalKey = `${key}|${start}`;
    const ordinal = this.ordinals.get(ordinalKey) ?? 0;
    this.ordinals.set(ordinalKey, ordinal + 1);
    this.pruneOrdinals();
    const session: OpenSession = {
      id: sha256Hex(`${this.source}|${ordinalKey}|${ordinal}`).slice(0, 32), key,
      daemon: h.daemon, feature: h.feature, user: h.user, host: h.host, count: h.count, start, emitted: start,
    };
    if (h.version !== undefined) session.version = h.version;
    if (handle !== "") session.handle = handle;
    if (h.product !== undefined) session.product = h.product;
    if (snapshot) session.snapshot = snapshot;
    this.add(session);
    this.st.sessions_opened++;
  }

  private add(session: OpenSession): void {
    const list = this.open.get(session.key);
    if (list) list.push(session);
    else this.open.set(session.key, [session]);
    if (session.snapshot) this.bySnapshot.set(session.snapshot.identity, session);
  }

  private checkin(e: Extract<SourceEvent, { type: "checkin" }>, at: number): void {
    const list = this.open.get(holderKey(e, e.handle ?? ""));
    const session = list === undefined ? undefined : list.find((s) => s.count === e.count) ?? list[0];
    if (!session) {
      this.st.orphan_checkins++;
      return;
    }
    this.close(session, at);
  }

  private close(s: OpenSession, end: number): void {
    const list = this.open.get(s.key)!;
    if (list.length === 1) this.open.delete(s.key);
    else list.splice(list.indexOf(s), 1);
    if (s.snapshot) this.bySnapshot.delete(s.snapshot.identity);
    this.st.sessions_closed++;
    if (end <= s.start) this.st.zero_length_sessions++;
    else this.emitUntil(s, end, true);
  }

  private snapshot(holders: Array<Holder & { start: number }>, at: number, daemon: string | undefined): void {
    const scope = daemon ?? ALL;
    this.touch(scope, at);
    const previous = Math.max(this.lastSnapshotAt[scope] ?? -Infinity, this.lastSnapshotAt[ALL] ?? -Infinity);
    const listed = new Set<string>();
    for (const h of holders) {
      const start = wholeSecond(h.start);
      const identity = [h.daemon, h.feature, h.version ?? "", h.user, h.host, h.handle ?? "", start, ...(h.product !== undefined ? [h.product] : [])].join("|");
      listed.add(identity);
      const known = this.bySnapshot.get(identity);
      if (known) known.snapshot!.seenAt = at;
      // Not listed in the previous snapshot, so not held then, whatever its start field says.
      else this.checkout(h, Math.min(at, Math.max(start, previous)), h.handle ?? "", { identity, seenAt: at });
    }
    for (const s of [...this.bySnapshot.values()]) {
      if ((daemon === undefined || s.daemon === daemon) && !listed.has(s.snapshot!.identity)) this.close(s, s.snapshot!.seenAt);
    }
    this.lastSnapshotAt[scope] = at;
  }

  /** Emit intervals up to the last cut boundary strictly before what is known open. */
  private advance(daemon: string): void {
    const known = Math.max(this.lastKnown.get(daemon) ?? -Infinity, this.lastKnown.get(ALL) ?? -Infinity);
    const boundary = Math.floor((known - 1000) / this.cutMs) * this.cutMs;
    if (!Number.isFinite(boundary) || boundary <= (this.cutDone.get(daemon) ?? -Infinity)) return;
    this.cutDone.set(daemon, boundary);
    for (const list of this.open.values()) {
      for (const s of list) {
        if (daemon !== ALL && s.daemon !== daemon) continue;
        const limit = Math.floor((this.horizon(s) - 1000) / this.cutMs) * this.cutMs;
        this.emitUntil(s, Math.min(boundary, limit), false);
      }
    }
  }

  private emitUntil(s: OpenSession, to: number, final: boolean): void {
    if (to <= s.emitted) return;
    this.queue.usage(templateOf(this.source, s), s.emitted, to, final);
    s.emitted = to;
  }

  /** Ordinals only tell apart sessions started in the same second; old ones can go. */
  private pruneOrdinals(): void {
    if (++this.ordinalsAdded < 50_000) return;
    this.ordinalsAdded = 0;
    const keepAfter = this.maxAt - 2 * 86_400_000;
    for (const k of this.ordinals.keys()) if (Number(k.slice(k.lastIndexOf("|") + 1)) < keepAfter) this.ordinals.delete(k);
  }
}

/** Pairing key: who holds what; the product only where a token pool names one (older ids unchanged). */
function holderKey(h: Omit<Holder, "handle" | "count">, handle: string): string {
  const key = `${h.daemon}|${h.feature}|${h.user}|${h.host}|${handle}`;
  return h.product === undefined ? key : `${key}|${h.product}`;
}

function templateOf(source: string, s: OpenSession): UsageTemplate {
  const t: UsageTemplate = { source, daemon: s.daemon, feature: s.feature, user: s.user, host: s.host, session: s.id, count: s.count };
  if (s.version !== undefined) t.version = s.version;
  if (s.product !== undefined) t.product = s.product;
  return t;
}
