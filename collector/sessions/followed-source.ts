// A followed line source: file tail → parser → session tracker, with the three states saved
// together in one file of the state dir, so after a restart the offset, the parser's date and
// pending lines, and the intervals already emitted always agree (no second lost or counted twice).
//
// Use: `const records = await f.step(now)`, append them to the log durably, then `await f.commit()`.
// A crash between the append and the commit re-emits that step's records on restart; they are
// byte-identical (deterministic session ids and cut points), so the log can drop them by content.
import { join } from "node:path";
import type { LineSource } from "../sources/events.ts";
import { FileTail, type TailPosition } from "../sources/tail.ts";
import type { RecordBody } from "./records.ts";
import { SessionTracker, type TrackerState } from "./session-tracker.ts";
import { readStateFile, writeStateFile } from "./state-file.ts";

interface FollowedState {
  v: 1;
  file: string;
  tail?: TailPosition;
  parser?: unknown;
  tracker: TrackerState;
}

export class FollowedSource {
  private readonly statePath: string;
  readonly tail: FileTail;
  readonly parser: LineSource;
  readonly tracker: SessionTracker;

  private constructor(statePath: string, tail: FileTail, parser: LineSource, tracker: SessionTracker) {
    this.statePath = statePath;
    this.tail = tail;
    this.parser = parser;
    this.tracker = tracker;
  }

  /** Resume from `<stateDir>/source-<name>.json` when it exists, else start at the file's beginning. */
  static async open(opts: { stateDir: string; name: string; file: string; parser: LineSource; cut_s?: number }): Promise<FollowedSource> {
    const statePath = join(opts.stateDir, `source-${opts.name}.json`);
    const saved = await readStateFile<FollowedState>(statePath);
    const sameFile = saved !== undefined && saved.file === opts.file;
    if (sameFile && saved.parser !== undefined) opts.parser.restore?.(saved.parser);
    const tracker = sameFile
      ? SessionTracker.restore(opts.name, saved.tracker)
      : new SessionTracker({ source: opts.name, ...(opts.cut_s !== undefined ? { cut_s: opts.cut_s } : {}) });
    return new FollowedSource(statePath, new FileTail(opts.file, sameFile ? saved.tail : undefined), opts.parser, tracker);
  }

  /** Read what the file gained, and cut intervals up to `now` (within what is provably open). */
  async step(now: number): Promise<RecordBody[]> {
    const out: RecordBody[] = [];
    for (const line of await this.tail.poll()) {
      for (const event of this.parser.push(line)) out.push(...this.tracker.apply(event));
    }
    out.push(...this.tracker.flush(now));
    return out;
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
