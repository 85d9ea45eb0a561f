// A followed line source: file tail → parser → session tracker, with the three states saved
// together in one file of the state dir, so after a restart the offset, the parser's date and
// pending lines, and the intervals already emitted always agree (no second lost or counted twice).
//
// Use: `const records = await f.step(now)`, append them to the log durably, then `await f.commit()`;
// while `f.more`, step again: a step reads at most STEP_BYTES of the file and returns at most
// STEP_RECORDS records (the rest stays queued in the tracker's saved state), so a 1 GB backlog or a
// session open for months never sits in memory at once.
// A crash between the append and the commit re-emits that step's records on restart; they are
// byte-identical (deterministic session ids and cut points), so the log can drop them by content.
import { join } from "node:path";
import type { LineSource } from "../sources/events.ts";
import { FileTail, type TailPosition } from "../sources/tail.ts";
import type { RecordBody } from "./records.ts";
import { SessionTracker, type TrackerState } from "./session-tracker.ts";
import { readStateFile, writeStateFile } from "./state-file.ts";

const STEP_BYTES = 1024 * 1024;
const STEP_RECORDS = 50_000;

interface FollowedState {
  v: 1;
  file: string;
  tail?: TailPosition;
  parser?: unknown;
  tracker: TrackerState;
}

export class FollowedSource {
  private readonly statePath: string;
  private readonly limits: { bytes: number; records: number };
  private polled = false;
  readonly tail: FileTail;
  readonly parser: LineSource;
  readonly tracker: SessionTracker;

  private constructor(statePath: string, tail: FileTail, parser: LineSource, tracker: SessionTracker, limits: { bytes: number; records: number }) {
    this.statePath = statePath;
    this.limits = limits;
    this.tail = tail;
    this.parser = parser;
    this.tracker = tracker;
  }

  /** Resume from `<stateDir>/source-<name>.json` when it exists, else start at the file's beginning. */
  static async open(opts: { stateDir: string; name: string; file: string; parser: LineSource; cut_s?: number; step_bytes?: number; step_records?: number }): Promise<FollowedSource> {
    const statePath = join(opts.stateDir, `source-${opts.name}.json`);
    const saved = await readStateFile<FollowedState>(statePath);
    const sameFile = saved !== undefined && saved.file === opts.file;
    if (sameFile && saved.parser !== undefined) opts.parser.restore?.(saved.parser);
    const tracker = sameFile
      ? SessionTracker.restore(opts.name, saved.tracker)
      : new SessionTracker({ source: opts.name, ...(opts.cut_s !== undefined ? { cut_s: opts.cut_s } : {}) });
    const limits = { bytes: opts.step_bytes ?? STEP_BYTES, records: opts.step_records ?? STEP_RECORDS };
    return new FollowedSource(statePath, new FileTail(opts.file, sameFile ? saved.tail : undefined), opts.parser, tracker, limits);
  }

  /** Whether the last step left file or records for the next (step again before waiting); true until the file was read once. */
  get more(): boolean {
    return !this.polled || this.tail.more || this.tracker.queued;
  }

  /** Read what the file gained, and cut intervals up to `now` (within what is provably open). */
  async step(now: number): Promise<RecordBody[]> {
    if (!this.tracker.queued) {
      this.polled = true;
      for (const line of await this.tail.poll(this.limits.bytes)) {
        for (const event of this.parser.push(line)) this.tracker.feed(event);
      }
      if (!this.tail.more) this.tracker.feedCut(now);
    }
    return this.tracker.take(this.limits.records);
  }

  async commit(): Promise<void> {
    const state: FollowedState = {
      v: 1, file: this.tail.path, tracker: this.tracker.save(),
      ...(this.tail.position() ? { tail: this.tail.position()! } : {}),
      ...(this.parser.save ? { parser: this.parser.save() } : {}),
    };
    await writeStateFile(this.statePath, state);
  }

  async close(): Promise<void> {
    await this.tail.close();
  }
}
