// What of the open sessions' time the session tracker (session-tracker.ts) emits, and when: intervals
// are cut at multiples of `cut_s` since the epoch (default 3600, as `run`'s cut_s) and at
// `flush(now)`, into the tracker's queue (interval-queue.ts). We bill only time a session is
// provably open: up to its horizon, the latest event or `alive` of its daemon (snapshot sessions:
// the last snapshot that listed them). Non-final intervals stop HOLD_BACK_MS short of that horizon:
// a check-in that comes as late as a source may deliver one (EVENT_DISORDER_MS before the latest
// event) still ends its session in a non-empty final.
import { EVENT_DISORDER_MS } from "../sources/events.ts";
import { ALL, type DaemonClock, type DaemonClocks } from "./daemon-clocks.ts";
import type { IntervalQueue } from "./interval-queue.ts";
import type { OpenSessions } from "./open-sessions.ts";
import type { OpenSession } from "./tracker-state.ts";

const HOLD_BACK_MS = EVENT_DISORDER_MS + 1000;

export class IntervalEmitter {
  private readonly held: OpenSessions;
  private readonly clocks: DaemonClocks;
  private readonly queue: IntervalQueue;
  private readonly cutMs: number;

  /** The tracker's open sessions, its daemons' clocks and its output queue. */
  constructor(held: OpenSessions, clocks: DaemonClocks, queue: IntervalQueue, cutMs: number) {
    this.held = held;
    this.clocks = clocks;
    this.queue = queue;
    this.cutMs = cutMs;
  }

  /** The latest time `s` is provably open. */
  horizon(s: OpenSession): number {
    if (s.snapshot) return Math.max(s.snapshot.seenAt, s.start);
    return Math.max(this.clocks.of(s.daemon).known, this.clocks.all.known, s.start);
  }

  /** Every open session's time up to `until`, within its horizon less HOLD_BACK_MS (`flush`). Not final. */
  cut(until: number): void {
    for (const s of this.held.live) this.until(s, Math.min(until, this.horizon(s) - HOLD_BACK_MS), false, true);
  }

  /** Every open session's time up to its horizon (end of input). Not final. */
  end(): void {
    for (const s of this.held.live) this.until(s, this.horizon(s), false, true);
  }

  /** Emit intervals up to the last cut boundary at least HOLD_BACK_MS before what is known open. */
  advance(daemon: string, clock: DaemonClock): void {
    const all = this.clocks.all.known;
    const known = clock.known > all ? clock.known : all;
    const boundary = Math.floor((known - HOLD_BACK_MS) / this.cutMs) * this.cutMs;
    if (!(boundary > clock.cutDone) || !Number.isFinite(boundary)) return;
    clock.cutDone = boundary;
    for (const s of this.held.live) {
      if (daemon !== ALL && s.daemon !== daemon) continue;
      const limit = Math.floor((this.horizon(s) - HOLD_BACK_MS) / this.cutMs) * this.cutMs;
      this.until(s, Math.min(boundary, limit), false, true);
    }
  }

  /** `s`'s time from what was emitted of it up to `to`; `final`: its last interval ends the session. */
  until(s: OpenSession, to: number, final: boolean, lazy = false): void {
    if (to <= s.emitted) return;
    this.queue.usage(s, s.emitted, to, final, lazy);
    s.emitted = to;
  }
}
