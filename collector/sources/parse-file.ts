// One file → the record bodies `parse` prints and `backfill` appends (DESIGN.md §9).
// Line sources stream the file (memory stays flat on a 1 GB log); snapshot sources get the whole
// text, taken at `at` (default: the file's mtime). Sessions still open at the end are reported up
// to their last known-open time with `final: false`.
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { isValidTimeZone, localTimeZone } from "../../shared/time/zoned.ts";
import type { RecordBody } from "../sessions/records.ts";
import { SessionTracker, type TrackerStats } from "../sessions/session-tracker.ts";
import type { ParseStats, SourceOptions } from "./events.ts";
import { LineSplitter } from "./line-splitter.ts";
import { sourceKinds } from "./registry.ts";

export class SourceConfigError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface ParseFileOptions {
  /** Source name for `data.source` (default: the kind). */
  name?: string;
  /** IANA zone of the server clock (default: this machine's). */
  timezone?: string;
  cut_s?: number;
  /** Snapshot kinds: when the output was taken (ms). Default: the file's mtime. */
  at?: number;
  package_features?: string[];
  /** Bytes of the file read so far, after each chunk (drives backfill's percentage and ETA). */
  onProgress?: (bytesRead: number) => void;
  /** Called once at the end with the parser's and the tracker's counters. */
  onDone?: (stats: { source: ParseStats; tracker: TrackerStats }) => void;
}

/** Validate everything that can be wrong before a byte is read (no partial output on bad config). */
export async function checkParseFile(kind: string, file: string, opts: ParseFileOptions): Promise<void> {
  if (!(kind in sourceKinds)) throw new SourceConfigError("unknown_source_kind", `unknown source kind "${kind}" (known: ${Object.keys(sourceKinds).join(", ")})`);
  if (opts.timezone !== undefined && !isValidTimeZone(opts.timezone)) throw new SourceConfigError("bad_timezone", `unknown time zone "${opts.timezone}"`);
  if (opts.cut_s !== undefined && (!Number.isSafeInteger(opts.cut_s) || opts.cut_s < 1)) throw new SourceConfigError("bad_cut", `cut_s must be a positive integer`);
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new SourceConfigError("file_not_found", `${file} is not a file`);
  } catch (err) {
    if (err instanceof SourceConfigError) throw err;
    throw new SourceConfigError("file_not_found", `cannot read ${file}: ${(err as Error).message}`);
  }
}

export async function* recordsFromFile(kind: string, file: string, opts: ParseFileOptions = {}): AsyncGenerator<RecordBody> {
  await checkParseFile(kind, file, opts);
  const factory = sourceKinds[kind]!;
  const name = opts.name ?? kind;
  const sourceOpts: SourceOptions = {
    name, timezone: opts.timezone ?? localTimeZone(),
    ...(opts.package_features ? { package_features: opts.package_features } : {}),
  };
  const tracker = new SessionTracker({ source: name, ...(opts.cut_s !== undefined ? { cut_s: opts.cut_s } : {}) });
  let stats: ParseStats;

  if (factory.shape === "lines") {
    const source = factory.create(sourceOpts);
    const splitter = new LineSplitter();
    let bytesRead = 0;
    for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
      bytesRead += (chunk as Buffer).length;
      opts.onProgress?.(bytesRead);
      const batch: RecordBody[] = [];
      for (const line of splitter.push(chunk as Buffer)) {
        for (const event of source.push(line)) for (const r of tracker.apply(event)) batch.push(r);
      }
      yield* batch;
    }
    for (const line of splitter.end()) for (const event of source.push(line)) yield* tracker.apply(event);
    for (const event of source.end()) yield* tracker.apply(event);
    stats = source.stats();
  } else {
    const text = await readFile(file, "utf8");
    opts.onProgress?.(Buffer.byteLength(text));
    const at = opts.at ?? Math.floor((await stat(file)).mtimeMs);
    const result = factory.create(sourceOpts).parse(text, at);
    for (const event of result.events) yield* tracker.apply(event);
    stats = result.stats;
  }
  yield* tracker.finish();
  opts.onDone?.({ source: stats, tracker: tracker.stats() });
}
