// The vocabulary between source adapters and the session tracker: what a license manager said
// happened, already in UTC ms, before it becomes signed usage records (DESIGN.md §4–§5).

/** Who holds a license, as the license manager names it. */
export interface Holder {
  daemon: string;
  feature: string;
  version?: string;
  user: string;
  host: string;
  /** License handle or other manager-side id, when the format has one (lmstat, rlmstat, verbose debug log). */
  handle?: string;
  /**
   * Token pools (MSC/Hexagon `[POOL:PRODUCT]`, lmstat `POOL:PRODUCT` token): the product that drew
   * the tokens; `feature` stays the pool, which is what is rated (DESIGN.md §4).
   */
  product?: string;
  count: number;
}

export type SourceEvent =
  /** `resumes`: it goes on from where a check-in of this holder and count ended the session whose
   *  checkout was given at `resumes` (a snapshot diff's line listed again): that session goes on, under its id. */
  | ({ type: "checkout"; at: number; resumes?: number } & Holder)
  /** `opened`: when the checkout it ends was given, where the source knows (a snapshot diff): of a
   *  holder's sessions, that one ends, not the earliest. */
  | ({ type: "checkin"; at: number; reason?: CheckinReason; opened?: number } & Omit<Holder, "count"> & { count?: number })
  | { type: "denial"; at: number; daemon: string; feature: string; user: string; host: string; reason: string }
  /** The server (or daemon) was seen alive at `at`: open sessions are provably open until then. */
  | { type: "alive"; at: number; daemon?: string }
  /** The server restarted or went down: every open session (of `daemon`, or all) ends at its last known-open time. */
  | { type: "server_down"; at: number; daemon?: string; reason: string }
  /** Snapshot kinds: the complete set of licenses held at `at`. */
  | { type: "snapshot"; at: number; daemon?: string; holders: SnapshotHolder[] };

/**
 * A holder listed by a snapshot, with its stated start. `group`: holders of one group that the
 * source may list as one or as several from one poll to the next (RLM handles sharing a license):
 * one that appears as another of its group vanishes continues it (snapshot-diff.ts).
 */
export type SnapshotHolder = Holder & { start: number; group?: string };

/**
 * How much earlier than an event it already delivered a source may deliver the next: the lines of a
 * FlexLM debug log's daemons interleave, so a line printed up to a minute before the last is read as
 * in order (log-calendar.ts), and its check-in may end a session before the latest event. The
 * session tracker writes no non-final interval that such a check-in could end before.
 */
export const EVENT_DISORDER_MS = 60_000;

/** Per-parse counters, printed by `parse` on stderr and kept as source health by `run`. */
export interface ParseStats {
  lines: number;
  events: number;
  unknown_lines: number;
  /** A few unknown lines, verbatim, for the summary. */
  unknown_samples: string[];
  /** Usage lines dropped because no date could be proven for them (FlexLM lines before any date anchor). */
  undated_lines?: number;
  /** Package lines not reported because their component line carries the same checkout (Autodesk). */
  package_lines?: number;
  /** Lines understood but not billable (UNSUPPORTED, RLM DENY with last_attempt 0, QUEUED, …). */
  ignored_lines?: number;
  /** Times the server clock was set back (not a midnight): later times are read forward by the step. */
  clock_steps?: number;
  /** RLM report log: checkouts that took no license of their own (they share their group's, `share_handle`). */
  shared_checkouts?: number;
}

/** Options every source takes (DESIGN.md §9 config). */
export interface SourceOptions {
  /** Configured source name; becomes `data.source` of every record. */
  name: string;
  /** IANA zone of the license server's clock. Default: the machine's zone. */
  timezone: string;
  /**
   * FlexLM: features that are packages (Autodesk `…_F` suites): their lines are paired but not
   * reported, because the component line that follows carries the same checkout.
   */
  package_features?: string[];
}

/**
 * A line-oriented source (debug logs, report logs, jsonl). Streaming: `push` gets each line
 * (without its line terminator) in order and returns the events it completes.
 */
export interface LineSource {
  push(line: string): SourceEvent[];
  /**
   * The same for a block of complete lines (each ended by LF, a CR before it dropped; the last
   * one's LF may be missing), adding the events to `out`: reading a chunk without cutting it into
   * line strings first is what lets a 1 GB log parse at the speed it is read.
   */
  pushText?(text: string, out: SourceEvent[], sink?: UsageSink): void;
  /** End of input: flush anything pending. */
  end(): SourceEvent[];
  stats(): ParseStats;
  /**
   * Parser state a restart needs to resume mid-file (current date, pending lines), as plain JSON.
   * Saved together with the file offset so the two never disagree.
   */
  save?(): unknown;
  restore?(state: unknown): void;
}

/**
 * Where `pushText` may put a checkout or check-in that goes out as it is without making an event
 * object: the parse worker's packer (worker-link.ts), which takes the events already in `out` first
 * (they come before it). `who`: the holder's names, as the source keeps them.
 */
export interface UsageSink {
  usage(out: SourceEvent[], checkin: boolean, at: number, daemon: string, who: UsageWho, count: number, handle: string | undefined, reason: CheckinReason | undefined): void;
}

export interface UsageWho {
  feature: string;
  user: string;
  host: string;
  product?: string;
  /** The sink's own: what it keeps with these names (the packer: their ids in its table, event-pack.ts). */
  packed?: unknown;
}
export type CheckinReason = "normal" | "shutdown" | "inactive";

/** A snapshot source (lmstat, rlmstat, LM-X, DSLS, lsmon): one whole command output at a time. */
export interface SnapshotSource {
  /** Parse one complete output taken at `takenAt` (ms). */
  parse(text: string, takenAt: number): SnapshotResult;
}

export interface SnapshotResult {
  /** `snapshot` when the server answered, else `server_down` (never "no usage"). */
  events: SourceEvent[];
  stats: ParseStats;
  /** Per feature, the in-use total the output itself states (for checking our derivation). */
  stated_in_use: Record<string, number>;
  /** Queued requests and reservations: reported, not billed. */
  queued: Array<{ feature: string; user: string; host: string; count: number }>;
  reservations: Array<{ feature: string; count: number; for: string }>;
  /** When the output itself states the server's clock (lmstat header, rlmstat statistics), that time in UTC ms. */
  stated_at?: number;
}
