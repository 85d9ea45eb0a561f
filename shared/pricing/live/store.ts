// What the live ledger (live-ledger.ts) keeps, behind a narrow synchronous interface: the ContractDO
// implements it over its SQLite tables (worker/contract/sql-live-store.ts), tests over Maps. Every
// method touches a bounded set of rows — one session, one period, one segment page — never the
// whole history, so an implementation never needs to load a contract's rows into memory.
//
// Identities are the engine's strings: an interval's ref is `<source>:<seq>` and a session key
// `<source>:<session>`; a store may intern them. Pieces of a segment are ordered by (start, record),
// where the record order is the store's own (stable) order of sources, then seq.
import type { GrantState } from "../burn.ts";
import type { Draw, Use } from "../draws.ts";
import type { UsageInterval } from "../input.ts";
import type { BucketKey, UsageBucket } from "../ledger.ts";
import type { PricedLine } from "../price.ts";
import type { RatedPiece, SessionCursor } from "../rate.ts";
import type { Statement } from "../statement-shape.ts";
import type { LineValue } from "../statement.ts";

export interface SessionState {
  cursor: SessionCursor | null;
  /** The terms revision the session was last rated under (see RerateJob). */
  rev: number;
}

/** Sessions overlapping [from, to) are re-rated under terms revision `rev`, in (end, ref) order. */
export interface RerateJob {
  rev: number;
  from: number;
  /** null: no end. */
  to: number | null;
  /** The last interval visited. */
  after: { end: number; ref: string } | null;
  done: number;
  total: number;
}

export interface LiveMeta {
  terms_rev: number;
  /**
   * The first closed period whose lines may now differ from what its statements carried: only
   * periods from here on can carry an adjustment in the first open period's statement.
   */
  adjust_from: number;
  job: RerateJob | null;
}

/** A place in a key's uses and draws: (start, record); ref "" comes before every record at `start`. */
export interface UsePosition { start: number; ref: string }

/** A piece as line tracing reads it. */
export interface TracePiece { ref: string; start: number; units: bigint; arrival: number }

export interface LiveStore {
  meta(): LiveMeta | undefined;
  saveMeta(meta: LiveMeta): void;

  session(key: string): SessionState | undefined;
  saveSession(key: string, state: SessionState): void;
  putInterval(interval: UsageInterval): void;
  deleteInterval(ref: string): void;
  /** With the session's user, host and site (use-window keys need them). */
  sessionIntervals(key: string): UsageInterval[];

  /** The pieces of a session's stored intervals. */
  sessionPieces(key: string): RatedPiece[];
  putPieces(pieces: RatedPiece[]): void;
  deleteSessionPieces(key: string): void;

  /** A session's use (draws.ts) and its key's draws, in (start, record) order per key. */
  use(session: string): Use | undefined;
  putUse(use: Use): void;
  deleteUse(session: string): void;
  /** The first use of `key` at (when `inclusive`) or after `at`. */
  nextUse(key: string, at: UsePosition, inclusive: boolean): Use | undefined;
  /** The last draw of `key` before `at`. */
  prevDraw(key: string, at: UsePosition): Draw | undefined;
  /** The first draw of `key` at (when `inclusive`) or after `at`. */
  nextDraw(key: string, at: UsePosition, inclusive: boolean): Draw | undefined;
  /** Draws are pieces too: segmentPieces lists them with the license-time pieces. */
  putDraw(draw: Draw): void;
  deleteDraw(draw: Draw): void;
  /** A period's draws of `feature` that arrived by `cutoff`, in (start, record) order, after `after` when given. */
  periodDraws(period: number, feature: string, cutoff: number, after: UsePosition | null): Iterable<TracePiece>;

  bucket(key: BucketKey): UsageBucket | undefined;
  saveBucket(bucket: UsageBucket): void;
  deleteBucket(key: BucketKey): void;
  periodBuckets(period: number): UsageBucket[];
  /** The first period after `after` that has buckets. */
  nextBucketPeriod(after: number): number | undefined;
  /** The last period before `before` that has buckets. */
  prevBucketPeriod(before: number): number | undefined;
  /** The first period before `before` with a bucket that arrived in a period in (after, upTo]. */
  firstLatePeriod(after: number, upTo: number, before: number): number | undefined;

  /** Grant state after period `period` with everything known (cutoff ∞); kept for periods with buckets. */
  foldEnd(period: number): GrantState | undefined;
  /** The state after the last kept period before `period`. */
  foldEndBefore(period: number): GrantState | undefined;
  saveFoldEnd(period: number, state: GrantState): void;
  deleteFoldEnd(period: number): void;

  /** -1 when no period is closed; closed periods are a prefix. */
  lastFrozen(): number;
  frozen(index: number): Statement | undefined;
  /** Stores a closed statement as line rows, with each line's unit ranges for tracing. */
  saveFrozen(index: number, statement: Statement, lines: PricedLine[], at: number): void;
  /** A closed statement's line, with the unit ranges it was priced from. */
  frozenLine(index: number, lineId: string): Pick<PricedLine, "kind" | "ranges"> | undefined;
  carried(period: number): Map<string, LineValue>;
  /** Adds a line's values to what `period`'s statements carried (appending a line not seen before). */
  addCarried(period: number, lineId: string, value: LineValue): void;

  countOverlapping(from: number, to: number | null): number;
  /** Intervals with end > from (and start < to), after `after` in (end, ref) order. */
  overlapping(from: number, to: number | null, after: { end: number; ref: string } | null, limit: number): UsageInterval[];

  /** A segment's pieces and draws that arrived by `cutoff`, in (start, record) order (a record's piece and draw at one start as one), after `after` when given. */
  segmentPieces(segment: number, cutoff: number, after: { start: number; ref: string } | null): Iterable<TracePiece>;
}
