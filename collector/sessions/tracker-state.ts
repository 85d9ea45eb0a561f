// What a SessionTracker (session-tracker.ts) keeps across save and restore: its open sessions, its
// daemons' clocks, its counters and the same-second table of session ids (session-ids.ts), whole
// (`save`) or as a change to an append-only log beside the state (`saveApart`,
// daemon/state-appendix.ts).
import type { Holder } from "../sources/events.ts";
import type { QueuedOutput } from "./interval-queue.ts";
import type { EndedSessionsState, ListedBeforeState } from "./listed-before.ts";
import type { SessionStarts } from "./session-ids.ts";

/** A held license (who holds what, as the source named it) with the session's bookkeeping. */
export interface OpenSession extends Holder {
  id: string;
  key: string;
  start: number;
  /** Intervals up to here have been emitted. */
  emitted: number;
  /** Snapshot sessions: identity in the snapshot and the last snapshot time that listed it; its
   *  holder's group (RLM handles that may share a license, events.ts `SnapshotHolder`). */
  snapshot?: { identity: string; seenAt: number; group?: string };
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
  /** Sessions started per key and second, for same-second ordinals (SessionIds.save). */
  same_second?: Record<string, number[]>;
  /** The same in an earlier version's form, `{ "key|startMs": count }` (read, no longer written). */
  ordinals?: Record<string, number>;
  /** Instead of `same_second` (`saveApart`): the table is kept in a log beside the state, of which
   *  the starts at or after second `since` count. */
  same_second_log?: { since: number };
  stats: TrackerStats;
  /** Snapshot lines no longer listed, the most recent (listed-before.ts); absent when none. */
  listed_before?: ListedBeforeState;
  /** Their sessions, the most recent (listed-before.ts `EndedSessions`); absent when none. */
  ended_sessions?: EndedSessionsState;
  /** Output fed but not taken yet (only when a caller takes in batches and saves in between). */
  queued?: QueuedOutput[];
}

/** The same-second table's change, for a state saved apart from it (`saveApart`). */
export interface SameSecondChange {
  /** Sessions started since the last `saveApart` (or restore from a log); null: the log must start afresh from `table()`. */
  added: SessionStarts | null;
  /** The whole table, for a log started afresh (or compacted). */
  table: () => SessionStarts;
}
