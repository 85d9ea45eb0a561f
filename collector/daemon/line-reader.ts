// A line source read in bounded steps: file tail → parser → session tracker, with the three states
// as one plain-JSON value (`LineReadState`) that a SourceJournal keeps in step with the log. Used
// by the daemon for a followed log and by `backfill` for a file read once.
//
// A step reads at most `maxBytes` of the file and returns at most `maxRecords` records of what
// those lines completed: the rest stays queued in the tracker (and in the saved state), and the next
// steps take it before reading on — so a session open for months, cut into tens of thousands of
// intervals, never sits in memory (or in one append) at once. Open sessions are cut only where the tracker cuts them (multiples of cut_s, as events
// prove time passing) — `cut(now)` adds a cut at `now`, which the daemon asks for only before a
// sync the edge will receive (DESIGN.md §4), so an offline site does not multiply records.
import { localTimeZone } from "../../shared/time/zoned.ts";
import type { RecordBody } from "../sessions/records.ts";
import { type SameSecondChange, SessionTracker, type TrackerState } from "../sessions/session-tracker.ts";
import type { LineSource, SourceEvent, SourceOptions } from "../sources/events.ts";
import { readBlock } from "../sources/line-blocks.ts";
import { sourceKinds } from "../sources/registry.ts";
import { DEFAULT_CHUNK_BYTES, FileTail, type TailPosition } from "../sources/tail.ts";
import { fingerprintFile, type Fingerprint } from "./file-fingerprint.ts";
import { emptyTotals, licensesHeld, type SourceTotals } from "./source-totals.ts";

/** What the records depend on besides the file: a change of any is applied from the next line. */
export interface ReadSettings {
  timezone: string;
  encoding: string;
  cut_s: number;
  package_features?: string[];
}

export interface LineReadState {
  kind: string;
  file: string;
  settings: ReadSettings;
  tail?: TailPosition;
  /** The file's first bytes as of the last step (tells a file already read from a new one). */
  fingerprint?: Fingerprint;
  parser?: unknown;
  tracker: TrackerState;
  totals: SourceTotals;
  /** backfill: the file was read to its end and its open sessions reported (`finish`). */
  finished?: boolean;
}

/** Records a step returns at most (the rest stays queued in the tracker's state). */
export const STEP_RECORDS = 50_000;

/** A step reads its bytes this much at a time. */
const SLICE_BYTES = 512 * 1024;

export interface LineStep {
  bodies: RecordBody[];
  lines: number;
  /** Nothing more to read for now. */
  caughtUp: boolean;
  /** The file does not exist (yet). */
  missing: boolean;
}

export class LineReader {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  readonly tail: FileTail;
  #parser: LineSource;
  #tracker: SessionTracker;
  #settings: ReadSettings;
  #fingerprint: Fingerprint | undefined;
  #totals: SourceTotals;
  #finished: boolean;
  /** Reused for each slice's events. */
  #events: SourceEvent[] = [];
  /** The last read of the file found nothing more (records may still be queued). */
  #tailCaughtUp = false;

  private constructor(name: string, kind: string, file: string, settings: ReadSettings, saved: LineReadState | undefined, startAtEnd: boolean, appendix: string | undefined) {
    this.name = name;
    this.kind = kind;
    this.file = file;
    this.#settings = settings;
    const factory = sourceKinds[kind];
    if (factory?.shape !== "lines") throw new RangeError(`${kind} is not a line source`);
    const options: SourceOptions = { name, timezone: settings.timezone || localTimeZone(), ...(settings.package_features ? { package_features: settings.package_features } : {}) };
    this.#parser = factory.create(options);
    // A state saved for another file (the config now names a different one) starts afresh.
    const same = saved !== undefined && saved.file === file && saved.kind === kind;
    if (same && saved.parser !== undefined) this.#parser.restore?.(saved.parser);
    this.#tracker = same
      ? SessionTracker.restore(name, { ...saved.tracker, cut_s: settings.cut_s }, appendix)
      : new SessionTracker({ source: name, cut_s: settings.cut_s });
    this.tail = new FileTail(file, same ? saved.tail : undefined, { encoding: settings.encoding, startAtEnd: !same && startAtEnd });
    this.#fingerprint = same ? saved.fingerprint : undefined;
    this.#totals = same ? { ...emptyTotals(), ...saved.totals } : emptyTotals();
    this.#finished = same ? saved.finished === true : false;
  }

  /** `appendix`: the text of the saved state's appendix, for a state saved by `stateApart`. */
  static open(name: string, kind: string, file: string, settings: ReadSettings, saved?: LineReadState, options: { startAtEnd?: boolean; appendix?: string } = {}): LineReader {
    return new LineReader(name, kind, file, settings, saved, options.startAtEnd === true, options.appendix);
  }

  /**
   * Reads the next lines (at most maxBytes, in slices of SLICE_BYTES) and returns (at most
   * maxRecords of) the records they complete; while records are still queued, a step only takes
   * those. With `onRecords`, the records go there as each slice completes them (the step returns
   * none): the caller makes them compact bytes at once (source-journal.ts `stage`), and no record
   * object lives for the whole step — that is, long enough to be promoted out of the young heap.
   */
  async read(maxBytes = DEFAULT_CHUNK_BYTES, maxRecords = STEP_RECORDS, onRecords?: (bodies: RecordBody[]) => void): Promise<LineStep> {
    let budget = maxRecords;
    const take = (): RecordBody[] => {
      const bodies = budget > 0 ? this.#tracker.take(budget) : [];
      budget -= bodies.length;
      if (onRecords === undefined || bodies.length === 0) return bodies;
      onRecords(bodies);
      return [];
    };
    if (this.#tracker.queued) {
      const bodies = take();
      return { bodies, lines: 0, caughtUp: this.#tailCaughtUp && !this.#tracker.queued, missing: false };
    }
    const unknownBefore = this.#parser.stats().unknown_lines;
    let lines = 0, missing = false;
    for (let left = maxBytes, first = true; ; first = false) {
      // Slices, not one read of maxBytes: a big buffer read and decoded at once costs more. The
      // step's first read looks at the file (rotated, truncated?); the others read on, each read
      // while the slice before is parsed.
      const slice = Math.min(left, SLICE_BYTES);
      const chunk = await (first ? this.tail.read(slice) : this.tail.readOn(slice));
      this.#tailCaughtUp = chunk.caughtUp;
      missing = chunk.missing === true;
      await this.#feed(chunk.blocks);
      if (onRecords) take();
      lines += chunk.lineCount;
      this.#totals.bytes += chunk.bytes;
      if (chunk.bytes > 0) this.#finished = false;
      left -= chunk.bytes;
      if (chunk.caughtUp || chunk.bytes === 0 || left <= 0) break;
    }
    const bodies = take();
    this.#totals.lines += lines;
    this.#totals.unknown_lines += Math.max(0, this.#parser.stats().unknown_lines - unknownBefore);
    const position = this.tail.position();
    if (position && (this.#fingerprint === undefined || this.#fingerprint.bytes < Math.min(position.offset, 65_536))) {
      this.#fingerprint = await fingerprintFile(this.file, position.offset);
    }
    return { bodies, lines, caughtUp: this.#tailCaughtUp && !this.#tracker.queued, missing };
  }

  /** Records fed but not yet taken (see `take`). */
  get queued(): boolean {
    return this.#tracker.queued;
  }

  /** At most `max` of the records still queued. */
  take(max = STEP_RECORDS): RecordBody[] {
    return this.#tracker.take(max);
  }

  /** The file's unterminated last line (backfill, at the end of a file read once): its records are
   *  queued (take them with `take`). */
  async readRest(): Promise<LineStep> {
    const chunk = await this.tail.readRest();
    await this.#feed(chunk.blocks);
    this.#totals.lines += chunk.lineCount;
    this.#totals.bytes += chunk.bytes;
    if (chunk.bytes > 0) this.#finished = false;
    return { bodies: [], lines: chunk.lineCount, caughtUp: true, missing: false };
  }

  /** Every open session's time up to `now` (what is provably open), as non-final intervals. */
  cut(now: number): RecordBody[] {
    return this.#tracker.flush(now);
  }

  /** End of a file read once (backfill): the parser's pending lines, then open sessions up to
   *  their last known-open time, non-final — exactly what `parse` prints at the end. Queued: take
   *  them with `take` until `queued` is false. */
  finish(): void {
    for (const event of this.#parser.end()) this.#tracker.feed(event);
    this.#tracker.feedEnd();
    this.#finished = true;
  }

  finished(): boolean {
    return this.#finished;
  }

  totals(): SourceTotals {
    return this.#totals;
  }

  licensesInUse(): Record<string, number> {
    return licensesHeld(this.#tracker);
  }

  /** The whole state. */
  state(): LineReadState {
    return this.#state(this.#tracker.save());
  }

  /** The state with the session tracker's same-second table kept apart (a journal's appendix,
   *  source-journal.ts) and what changed of that table since the last call. */
  stateApart(): { state: LineReadState; apart: SameSecondChange } {
    const { state, sameSecond } = this.#tracker.saveApart();
    return { state: this.#state(state), apart: sameSecond };
  }

  #state(tracker: TrackerState): LineReadState {
    const tail = this.tail.position();
    const parser = this.#parser.save?.();
    return {
      kind: this.kind, file: this.file, settings: this.#settings, tracker, totals: { ...this.#totals },
      ...(tail ? { tail } : {}), ...(this.#fingerprint ? { fingerprint: this.#fingerprint } : {}),
      ...(parser !== undefined ? { parser } : {}), ...(this.#finished ? { finished: true } : {}),
    };
  }

  close(): Promise<void> {
    return this.tail.close();
  }

  /** Complete lines (see TailChunk.blocks), a block at a time, through the parser into the tracker.
   *  Every millisecond or so (about every block) it lets the event loop run: the step before is
   *  being written behind meanwhile (daemon-source.ts), and each of its file operations goes on
   *  only when the loop is free. */
  async #feed(blocks: string[]): Promise<void> {
    const parser = this.#parser, tracker = this.#tracker, events = this.#events;
    let yieldAt = performance.now() + YIELD_MS;
    for (const block of blocks) {
      events.length = 0;
      readBlock(parser, block, events);
      for (const event of events) tracker.feed(event);
      if (performance.now() >= yieldAt) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        yieldAt = performance.now() + YIELD_MS;
      }
    }
    events.length = 0;
  }
}

/** How long parsing runs before the event loop gets a turn. A step's writes behind are some twenty
 *  file operations (appendix, state file, frames, each fsynced), one per turn: at 5 ms a turn they
 *  lagged the next step's parse, which then waited for them (≈ 0.5–1.1 s of a 200 MB first start,
 *  4–8 % of its time); at 1 ms the wait is gone, for a yield per 64 KiB block or so. */
const YIELD_MS = 1;
