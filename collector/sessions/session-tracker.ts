// SessionTracker: SourceEvents → `usage` intervals and `denial` records (DESIGN.md §4–§5).
//
// - Pairing: a check-in ends the earliest open session with the same daemon, feature, user, host,
//   product (token pools) and handle (when the format has one) and the same license count, else
//   the earliest of any count — FIFO, as FORMATS.md §2.5 describes existing parsers. A check-in with
//   no open session (its checkout predates the file) is counted as `orphan_checkins`, bills nothing.
// - Intervals are cut at `cut_s` boundaries and at `flush(now)`, only up to what is provably open
//   (interval-emitter.ts); `final: true` marks the interval that ends a session.
// - `server_down` ends open sessions at the last time they were provably open, never later; nothing
//   of that daemon being open after it, what was known of it is forgotten (a server whose clock was
//   reset while down starts afresh) — but for snapshot sessions, which the next snapshot that
//   answers ends or goes on with.
// - Session ids are deterministic (SHA-256 of source|daemon|feature|user|host|handle[|product]|start|ordinal)
//   so re-parsing a file yields identical records.
// - Output is queued (interval-queue.ts): `feed*` then `take(max)` streams it in bounded batches
//   whatever the span of a session; `apply`/`flush`/`finish` feed and take everything at once.
import type { Holder, SnapshotHolder, SourceEvent } from "../sources/events.ts";
import { ALL, type DaemonClock, DaemonClocks } from "./daemon-clocks.ts";
import { HolderKeys } from "./holder-keys.ts";
import { IntervalEmitter } from "./interval-emitter.ts";
import { EndedSessions, ListedBefore } from "./listed-before.ts";
import { OpenSessions } from "./open-sessions.ts";
import { identityLine } from "./snapshot-identity.ts";
import { readSnapshot, type SnapshotHost } from "./snapshot-reading.ts";
import { SessionIds } from "./session-ids.ts";
import type { OpenSession, SameSecondChange, TrackerState, TrackerStats } from "./tracker-state.ts";
import { IntervalQueue } from "./interval-queue.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";
import type { RecordBody } from "./records.ts";

export type { OpenSession, SameSecondChange, TrackerState, TrackerStats } from "./tracker-state.ts";

export interface TrackerOptions {
  /** Configured source name (`data.source`). */
  source: string;
  cut_s?: number;
}

export class SessionTracker {
  readonly source: string;
  private readonly cutMs: number;
  private readonly queue: IntervalQueue;
  private readonly emit: IntervalEmitter;
  private readonly held = new OpenSessions();
  /** Per daemon (and ALL): the last time it was known running, and the last cut boundary emitted for it. */
  private readonly clocks = new DaemonClocks();
  private lastSnapshotAt: Record<string, number> = {};
  /** Snapshot lines no longer listed, with when they last were: one listed again goes on from there. */
  private readonly listedBefore = new ListedBefore();
  /** Their sessions by key, count and end: one that goes on from there keeps its id. */
  private readonly endedSessions = new EndedSessions();
  private readonly ids: SessionIds;
  private readonly keys = new HolderKeys();
  private maxAt = -Infinity;
  /** What a snapshot is read into (snapshot-reading.ts). */
  private readonly snapshots: SnapshotHost = {
    held: this.held, listedBefore: this.listedBefore,
    checkout: (h, start, handle, snapshot, id) => this.checkout(h, start, handle, snapshot, id),
    close: (s, end, remember) => this.close(s, end, remember), closeAt: (list, i, end) => this.closeAt(list, i, end),
  };
  private st: TrackerStats = { sessions_opened: 0, sessions_closed: 0, denials: 0, orphan_checkins: 0, duplicate_checkouts: 0, zero_length_sessions: 0 };

  constructor(opts: TrackerOptions) {
    const cut = opts.cut_s ?? 3600;
    if (!Number.isSafeInteger(cut) || cut < 1) throw new RangeError(`cut_s must be a positive integer, got ${cut}`);
    this.source = opts.source;
    this.cutMs = cut * 1000;
    this.ids = new SessionIds(this.source);
    this.queue = new IntervalQueue(this.source, this.cutMs);
    this.emit = new IntervalEmitter(this.held, this.clocks, this.queue, this.cutMs);
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

  /** Whether records fed are still waiting to be taken. */
  get queued(): boolean {
    return !this.queue.empty;
  }

  /** Up to `max` records of what was fed, in order. */
  take(max = Infinity): RecordBody[] {
    return this.queue.take(max);
  }

  /**
   * Feed one event whose session id (if it opens a session) was hashed ahead: `ordinal` is the one
   * it was hashed with, used only if this tracker counts the same (see SessionIds.prepare).
   */
  feedPrepared(event: SourceEvent, ordinal: number, id: string): void {
    this.ids.prepare(wholeSecond(event.at), ordinal, id);
    this.feed(event);
    this.ids.unprepare();
  }

  /** One event. Nothing keeps `event` itself (what is kept is copied): worker-link.ts's `feedPacked` reads every event into one reused object. */
  feed(event: SourceEvent): void {
    const at = wholeSecond(event.at);
    switch (event.type) {
      case "checkout": {
        const clock = this.touch(event.daemon, at);
        // A diff's line listed again goes on as the session its check-in ended (EndedSessions).
        const id = event.resumes === undefined ? undefined : this.endedSessions.take(this.keys.holderOf(event.daemon, event.feature, event.user, event.host, event.handle ?? "", event.product).key, event.count, event.resumes, at);
        this.checkout(event, at, event.handle ?? "", undefined, id);
        this.emit.advance(event.daemon, clock);
        return;
      }
      case "checkin": {
        const clock = this.touch(event.daemon, at);
        this.checkin(event, at);
        this.emit.advance(event.daemon, clock);
        return;
      }
      case "denial": {
        const clock = this.touch(event.daemon, at);
        this.st.denials++;
        this.queue.record({ kind: "denial", data: { source: this.source, daemon: event.daemon, feature: event.feature, user: event.user, host: event.host, at, reason: event.reason } });
        this.emit.advance(event.daemon, clock);
        return;
      }
      case "alive": {
        const daemon = event.daemon ?? ALL;
        this.emit.advance(daemon, this.touch(daemon, at));
        return;
      }
      case "server_down":
        this.down(event.daemon);
        return;
      case "snapshot": {
        const daemon = event.daemon ?? ALL;
        this.snapshot(event.holders, at, event.daemon);
        this.emit.advance(daemon, this.clocks.of(daemon));
      }
    }
  }

  feedCut(now: number): void {
    this.emit.cut(wholeSecond(now));
  }

  feedEnd(): void {
    this.emit.end();
  }

  openSessions(): OpenSession[] {
    return this.sessions().map((s) => ({ ...s }));
  }

  stats(): TrackerStats {
    return { ...this.st };
  }

  save(): TrackerState {
    const state = this.stateBut();
    state.same_second = this.ids.save(); // built afresh: nothing to copy
    return state;
  }

  /**
   * The state without its same-second table, which grows with the sessions of the last two days,
   * and that table's change since the last call: the caller keeps the table as an append-only log
   * (daemon/source-journal.ts), so that a save costs what changed, not what is kept. Restore with
   * the log's text.
   */
  saveApart(): { state: TrackerState; sameSecond: SameSecondChange } {
    const state = this.stateBut();
    state.same_second_log = { since: this.ids.since() };
    const ids = this.ids;
    return { state, sameSecond: { added: ids.takeAdded(), table: () => ids.table() } };
  }

  /** From `save()`, or from `saveApart()` with the text of its same-second log. */
  static restore(source: string, state: TrackerState, sameSecondLog?: string): SessionTracker {
    const t = new SessionTracker({ source, cut_s: state.cut_s });
    const s = structuredClone(state);
    for (const session of s.open) t.held.add(session);
    t.clocks.restore(s.lastKnown, s.cutDone);
    t.lastSnapshotAt = s.lastSnapshotAt;
    t.listedBefore.restore(s.listed_before);
    t.endedSessions.restore(s.ended_sessions);
    if (s.same_second_log) {
      if (sameSecondLog === undefined) throw new RangeError("this tracker state keeps its same-second table in a log, which was not given");
      t.ids.restoreLogged(sameSecondLog, s.same_second_log.since);
    } else t.ids.restore(s.same_second, s.ordinals);
    t.st = s.stats;
    t.maxAt = Math.max(-Infinity, ...Object.values(s.lastKnown));
    if (s.queued) t.queue.restore(s.queued);
    return t;
  }

  /** The state but the same-second table. */
  private stateBut(): TrackerState {
    const state: TrackerState = structuredClone({
      v: 1, cut_s: this.cutMs / 1000, open: this.sessions(), ...this.clocks.save(),
      lastSnapshotAt: this.lastSnapshotAt, stats: this.st,
    });
    if (!this.queue.empty) state.queued = this.queue.save();
    const listedBefore = this.listedBefore.save();
    if (listedBefore.length > 0) state.listed_before = listedBefore;
    const ended = this.endedSessions.save();
    if (ended.length > 0) state.ended_sessions = ended;
    return state;
  }

  /** Open sessions in the order they opened, whatever the history of the maps: a restored tracker emits alike. */
  private sessions(): OpenSession[] {
    return [...this.held.live];
  }

  private touch(daemon: string, at: number): DaemonClock {
    if (at > this.maxAt) this.maxAt = at;
    return this.clocks.touch(daemon, at);
  }

  private down(daemon: string | undefined): void {
    // A snapshot source's server that could not be asked ends no session of its: the next snapshot
    // that answers does (snapshot-diff.ts, where `run` does the same).
    for (const s of this.sessions()) if ((daemon === undefined || s.daemon === daemon) && s.snapshot === undefined) this.close(s, this.emit.horizon(s));
    this.clocks.forget(daemon);
  }

  /** `id`: the session's, when it goes on as a session that ended where this one starts. */
  private checkout(h: Omit<Holder, "handle">, start: number, handle: string, snapshot: OpenSession["snapshot"], id?: string): OpenSession | undefined {
    const holder = this.keys.holderOf(h.daemon, h.feature, h.user, h.host, handle, h.product), key = holder.key;
    const list = this.held.ofHolder(holder);
    if (handle !== "" && !snapshot && list !== undefined && list.length > 0) {
      this.st.duplicate_checkouts++; // a handle is held once: INUSE / re-listed checkouts
      return undefined;
    }
    const session: OpenSession = {
      id: id ?? this.ids.next(key, start, this.maxAt, holder), key,
      daemon: h.daemon, feature: h.feature, user: h.user, host: h.host, count: h.count, start, emitted: start,
    };
    if (h.version !== undefined) session.version = h.version;
    if (handle !== "") session.handle = handle;
    if (h.product !== undefined) session.product = h.product;
    if (snapshot) session.snapshot = snapshot;
    this.held.add(session, list);
    this.st.sessions_opened++;
    return session;
  }

  private checkin(e: Extract<SourceEvent, { type: "checkin" }>, at: number): void {
    const list = this.held.ofHolder(this.keys.holderOf(e.daemon, e.feature, e.user, e.host, e.handle ?? "", e.product));
    if (list === undefined || list.length === 0) {
      this.st.orphan_checkins++;
      return;
    }
    // The session it names (a snapshot diff's check-in; of identical ones, the latest: the diff's last
    // numbered line goes first, as the tracker's own snapshots end them), else the earliest of its
    // count, else the earliest.
    const opened = list.length > 1 && e.opened !== undefined ? wholeSecond(e.opened) : undefined;
    let i = opened === undefined ? -1 : list.findLastIndex((s) => s.start === opened && s.count === e.count);
    if (i < 0 && list.length > 1 && list[0]!.count !== e.count) i = list.findIndex((s) => s.count === e.count);
    if (i < 0) i = 0;
    const s = this.closeAt(list, i, at);
    if (e.opened !== undefined) this.endedSessions.ended(s.key, s.count, s.start, at, s.id); // a snapshot line's: it may be listed again
  }

  private close(s: OpenSession, end: number, remember = true): void {
    if (s.snapshot && remember) this.listedBefore.ended(identityLine(s.snapshot.identity, s.product).line, s.snapshot.seenAt, s);
    this.closeAt(...this.held.place(s), end);
  }

  private closeAt(list: OpenSession[], i: number, end: number): OpenSession {
    const s = this.held.removeAt(list, i);
    this.st.sessions_closed++;
    if (end <= s.start) this.st.zero_length_sessions++;
    else this.emit.until(s, end, true);
    return s;
  }

  private snapshot(holders: Array<SnapshotHolder>, at: number, daemon: string | undefined): void {
    const scope = daemon ?? ALL;
    this.touch(scope, at);
    const previous = Math.max(this.lastSnapshotAt[scope] ?? -Infinity, this.lastSnapshotAt[ALL] ?? -Infinity);
    readSnapshot(this.snapshots, holders, at, previous, daemon);
    this.lastSnapshotAt[scope] = at;
  }
}
