// A line source read in bounded steps: file tail → parser → session tracker, with the three states
// as one plain-JSON value (`LineReadState`) that a SourceJournal keeps in step with the log. Used
// by the daemon for a followed log and by `backfill` for a file read once.
//
// A step reads at most `maxBytes` of the file and returns at most `maxRecords` records of what
// those lines completed, and stops reading before a slice like its last would pass that: the rest
// stays queued in the tracker (and in the saved state), and the next steps take it before reading
// on — so a session open for months, cut into tens of thousands of intervals, never sits in memory
// (or in one append) at once, and a saved state never carries more than one slice's records.
// Open sessions are cut only where the tracker cuts them (multiples of cut_s, as events
// prove time passing) — `cut(now)` adds a cut at `now`, which the daemon asks for only before a
// sync the edge will receive (DESIGN.md §4), so an offline site does not multiply records.
//
// A big backlog may be read on a second thread (`thread`, step-worker.ts): the worker reads and parses
// the same steps and hands back, with each, the tail position and parser state at its end; the
// tracker stays here. At the step that catches up with the file this thread takes the reading over.
import { stat } from "node:fs/promises";
import { localTimeZone } from "../../shared/time/zoned.ts";
import type { RecordBody } from "../sessions/records.ts";
import { type SameSecondChange, SessionTracker, type TrackerState } from "../sessions/session-tracker.ts";
import type { LineSource, SourceEvent, SourceOptions } from "../sources/events.ts";
import { readBlock } from "../sources/line-blocks.ts";
import { sourceKinds } from "../sources/registry.ts";
import { DEFAULT_CHUNK_BYTES, FileTail, type TailPosition } from "../sources/tail.ts";
import { feedPacked, type EventBlock } from "../sources/worker-link.ts";
import { fingerprintFile, type Fingerprint } from "./file-fingerprint.ts";
import { readSlices } from "./line-slices.ts";
import { StepRecords } from "./step-records.ts";
import { StepWorker, type StepEnd } from "./step-worker.ts";
import type { ReadSettings } from "./read-settings.ts";
import { emptyTotals, licensesHeld, type SourceTotals } from "./source-totals.ts";

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

/** A saved state read on in `file`, whatever the file was called when it was read (renamed, moved):
 *  the state names it, and its tail goes on in this file. */
export async function continuedIn(state: LineReadState, file: string): Promise<LineReadState> {
  const identity = await stat(file);
  return { ...state, file, ...(state.tail ? { tail: { ...state.tail, dev: identity.dev, ino: identity.ino } } : {}) };
}

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
  #tail: FileTail;
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
  /** Reading the backlog on a second thread (`thread`), up to the step that catches up. */
  #onThread: StepWorker | undefined;
  /** When the parse next lets the event loop run (see YIELD_MS). */
  #yieldAt = 0;
  /** Bytes left of the run of maxBytes the last step ended inside (line-slices.ts), on this thread. */
  #left = 0;

  private constructor(name: string, kind: string, file: string, settings: ReadSettings, saved: LineReadState | undefined, startAtEnd: boolean, appendix: string | undefined, thread: boolean) {
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
    this.#tail = new FileTail(file, same ? saved.tail : undefined, { encoding: settings.encoding, startAtEnd: !same && startAtEnd });
    this.#fingerprint = same ? saved.fingerprint : undefined;
    this.#totals = same ? { ...emptyTotals(), ...saved.totals } : emptyTotals();
    this.#finished = same ? saved.finished === true : false;
    // A file read from its end has no backlog to read on a second thread.
    if (thread && !(startAtEnd && !same)) {
      const job = { kind, file, options, encoding: settings.encoding, position: this.#tail.position(), parser: same ? saved.parser : undefined };
      this.#onThread = new StepWorker(job, this.#parser.save?.());
    }
  }

  /**
   * `appendix`: the text of the saved state's appendix, for a state saved by `stateApart`. `thread`:
   * the backlog is read and parsed on a second thread (step-worker.ts) up to the step that catches up,
   * in the same steps with the same records and saved states; those reads all take the same `maxBytes`.
   */
  static open(name: string, kind: string, file: string, settings: ReadSettings, saved?: LineReadState, options: { startAtEnd?: boolean; appendix?: string; thread?: boolean } = {}): LineReader {
    return new LineReader(name, kind, file, settings, saved, options.startAtEnd === true, options.appendix, options.thread === true);
  }

  /**
   * Reads the next lines (at most maxBytes, in slices of SLICE_BYTES) and returns (at most
   * maxRecords of) the records they complete; while records are still queued, a step only takes
   * those. A step stops reading before a slice like its last one would take it past maxRecords
   * (step-records.ts), so a saved state never carries more than one slice's records. With
   * `onRecords`, the records go there as each slice completes them (the step returns none): the
   * caller makes them compact bytes at once (source-journal.ts `stage`), and no record object lives
   * for the whole step — that is, long enough to be promoted out of the young heap.
   */
  async read(maxBytes = DEFAULT_CHUNK_BYTES, maxRecords = STEP_RECORDS, onRecords?: (bodies: RecordBody[]) => void): Promise<LineStep> {
    const records = new StepRecords(this.#tracker, maxRecords, onRecords);
    if (this.#tracker.queued) {
      records.take();
      return { bodies: records.bodies, lines: 0, caughtUp: this.#tailCaughtUp && !this.#tracker.queued, missing: false };
    }
    let read;
    if (this.#onThread) read = await this.#stepOnThread(maxBytes, records);
    else {
      const unknownBefore = this.#parser.stats().unknown_lines;
      const slices = await readSlices(this.#tail, maxBytes, async (chunk) => {
        await this.#feed(chunk.blocks);
        records.take();
      }, { left: this.#left, stop: () => records.spent() });
      this.#left = slices.left;
      read = { ...slices, unknown_lines: this.#parser.stats().unknown_lines - unknownBefore };
    }
    const { lines, missing } = read;
    this.#tailCaughtUp = read.caughtUp;
    if (read.bytes > 0) this.#finished = false;
    records.take();
    this.#totals.lines += lines;
    this.#totals.bytes += read.bytes;
    this.#totals.unknown_lines += Math.max(0, read.unknown_lines);
    const position = this.#position();
    if (position && (this.#fingerprint === undefined || this.#fingerprint.bytes < Math.min(position.offset, 65_536))) {
      this.#fingerprint = await fingerprintFile(this.file, position.offset);
    }
    return { bodies: records.bodies, lines, caughtUp: this.#tailCaughtUp && !this.#tracker.queued, missing };
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
    if (this.#onThread) throw new RangeError("readRest() before a step caught up");
    const chunk = await this.#tail.readRest();
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
    if (this.#onThread) throw new RangeError("finish() before a step caught up");
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

  /** Where the reading stands in the file (for progress), as of the last step. */
  progress(): { offset: number; size: number } {
    return this.#onThread ? { offset: this.#onThread.position?.offset ?? 0, size: this.#onThread.size } : this.#tail.progress();
  }

  #position(): TailPosition | undefined {
    return this.#onThread ? this.#onThread.position && { ...this.#onThread.position } : this.#tail.position();
  }

  #state(tracker: TrackerState): LineReadState {
    const tail = this.#position();
    const parser = this.#onThread ? this.#onThread.parser : this.#parser.save?.();
    return {
      kind: this.kind, file: this.file, settings: this.#settings, tracker, totals: { ...this.#totals },
      ...(tail ? { tail } : {}), ...(this.#fingerprint ? { fingerprint: this.#fingerprint } : {}),
      ...(parser !== undefined ? { parser } : {}), ...(this.#finished ? { finished: true } : {}),
    };
  }

  async close(): Promise<void> {
    await this.#onThread?.close();
    await this.#tail.close();
  }

  /** A step read on the worker: its events into the tracker as they come. The step that catches up
   *  with the file is the worker's last: this thread reads on from there. */
  async #stepOnThread(maxBytes: number, records: StepRecords): Promise<StepEnd> {
    this.#yieldAt = performance.now() + YIELD_MS;
    const end = await this.#onThread!.step(maxBytes, async (block) => {
      await this.#feedBlock(block);
      records.take();
    }, () => records.spent());
    if (end.caughtUp) {
      ({ parser: this.#parser, tail: this.#tail } = await this.#onThread!.takeOver());
      this.#onThread = undefined;
    }
    return end;
  }

  /** A pack of the worker's events into the tracker, with a turn for the event loop when due (see #feed). */
  async #feedBlock(block: EventBlock): Promise<void> {
    feedPacked(this.#tracker, block);
    if (performance.now() >= this.#yieldAt) await this.#turn();
  }

  /** Lets the event loop run (see YIELD_MS). */
  async #turn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.#yieldAt = performance.now() + YIELD_MS;
  }

  /** Complete lines (see TailChunk.blocks), a block at a time, through the parser into the tracker.
   *  Every millisecond or so (about every block) it lets the event loop run: the step before is
   *  being written behind meanwhile (daemon-source.ts), and each of its file operations goes on
   *  only when the loop is free. */
  async #feed(blocks: Iterable<string>): Promise<void> {
    const parser = this.#parser, tracker = this.#tracker, events = this.#events;
    this.#yieldAt = performance.now() + YIELD_MS;
    for (const block of blocks) {
      events.length = 0;
      readBlock(parser, block, events);
      for (const event of events) tracker.feed(event);
      if (performance.now() >= this.#yieldAt) await this.#turn();
    }
    events.length = 0;
  }
}

/** How long parsing runs before the event loop gets a turn. A step's writes behind are some twenty
 *  file operations (appendix, state file, frames, each fsynced), one per turn: at 5 ms a turn they
 *  lagged the next step's parse, which then waited for them (≈ 0.5–1.1 s of a 200 MB first start,
 *  4–8 % of its time); at 1 ms the wait is gone, for a yield per 64 KiB block or so. */
const YIELD_MS = 1;
