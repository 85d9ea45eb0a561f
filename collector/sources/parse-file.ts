// One file → the record bodies `parse` prints and `backfill` appends (DESIGN.md §9), in batches.
// Line sources stream the file a chunk at a time; the tracker's output is taken in bounded batches
// whatever the span of a session, so memory stays flat on a 1 GB log or a years-long snapshot.
// Sessions still open at the end are reported up to their last known-open time with `final: false`.
//
// A snapshot's time: `at` when given (the user said so), else the time the output itself states
// (lmstat's `Flexible License Manager status on …` header, rlmstat's statistics clock), else the
// file's mtime — said in `time_from`. No session of a snapshot ends after that time.
import { isUtf8 } from "node:buffer";
import { open, readFile, stat } from "node:fs/promises";
import { availableParallelism, loadavg } from "node:os";
import { isValidTimeZone, localTimeZone } from "../../shared/time/zoned.ts";
import { CollectorError } from "../errors.ts";
import type { RecordBody } from "../sessions/records.ts";
import { SessionTracker, type TrackerStats } from "../sessions/session-tracker.ts";
import type { LineSource, ParseStats, SnapshotResult, SnapshotSource, SourceEvent, SourceOptions } from "./events.ts";
import { HEAD_BYTES, kindProblem, withFix } from "./kind-check.ts";
import { fileBlocks, readBlock } from "./line-blocks.ts";
import { LineSplitter } from "./line-splitter.ts";
import { eventsFromWorker } from "./line-parse-worker.ts";
import { feedPacked } from "./worker-link.ts";
import { packageFeaturesProblem, sourceKinds, timezoneProblem } from "./registry.ts";
import { decodeOutput, inUseDifferences, markedEncoding, type InUseDifference } from "./snapshot-output.ts";
import { wholeSecond } from "../../shared/time/whole-second.ts";
import { encodingProblem, lineEncodingProblem } from "./tail-chunk.ts";

/** SourceConfigError codes that refuse the file given, not how the command was written. */
export const FILE_REFUSALS: ReadonlySet<string> = new Set(["file_not_found", "wrong_kind", "unrecognised_file"]);

export class SourceConfigError extends Error {
  readonly code: string;
  /** Facts for a JSON error besides its code and message (the kind a file looks like). */
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

export interface ParseFileOptions {
  /** Source name for `data.source` (default: the kind). */
  name?: string;
  /** IANA zone of the server clock (default: this machine's). */
  timezone?: string;
  /** WHATWG label of the file's encoding (default utf-8); line files need one `lineEncodingProblem` accepts. */
  encoding?: string;
  cut_s?: number;
  /** Snapshot kinds: when the output was taken (ms); overrides the time the output states. */
  at?: number;
  package_features?: string[];
  /** Bytes of the file read so far, after each chunk (drives backfill's percentage and ETA). */
  onProgress?: (bytesRead: number) => void;
  /**
   * Line files: parse on a second thread (line-parse-worker.ts); same records either way. "auto"
   * (the default): for files of WORKER_MIN_BYTES or more (starting the worker, ~0.3 s, is then small
   * beside the parse), and only while the machine has a core to spare (load average below cores − 1.5):
   * the two threads use ~40 % more CPU in all than one, so on a busy machine they are slower.
   */
  thread?: "auto" | "always" | "never";
  /** Called once at the end with the parser's and the tracker's counters. */
  onDone?: (stats: ParseDone) => void;
}

export interface ParseDone {
  source: ParseStats;
  tracker: TrackerStats;
  /** Snapshot kinds: the snapshot's time, where it came from, and features whose stated in-use total differs from the lines listed. */
  snapshot?: { at: number; time_from: "header" | "at" | "mtime"; in_use_mismatch: Record<string, InUseDifference>; time_warning?: string };
}

/** Records per batch: bounds memory whatever a session's span. */
const BATCH = 10_000;
/** Line files this large are parsed on a second thread (when `thread` is "auto"). */
export const WORKER_MIN_BYTES = 16 * 1024 * 1024;

/** `--at T` (`parse`, `backfill`): ms since the epoch or RFC 3339 with an offset (a local time would
 *  be read in some zone nobody named). */
export function snapshotInstant(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(n) || !/^\d+$|[Zz]$|[+-]\d{2}:\d{2}$/.test(text)) throw new SourceConfigError("usage", `--at must be ms since the epoch or RFC 3339 with an offset`);
  // Past 8.64e15 ms (year 275760) no Date holds it: the summary could not write the snapshot's time.
  if (Number.isNaN(new Date(n).getTime())) throw new SourceConfigError("usage", `--at ${text} is past the last time a date can hold (8640000000000000 ms, year 275760)`);
  return n;
}

/** Validate everything that can be wrong before a byte is read (no partial output on bad config). */
export async function checkParseFile(kind: string, file: string, opts: ParseFileOptions): Promise<void> {
  if (!(kind in sourceKinds)) throw new SourceConfigError("unknown_source_kind", `unknown source kind "${kind}" (known: ${Object.keys(sourceKinds).join(", ")})`);
  if (opts.timezone !== undefined && !isValidTimeZone(opts.timezone)) throw new SourceConfigError("bad_timezone", `unknown time zone "${opts.timezone}"`);
  const zone = opts.timezone === undefined ? null : timezoneProblem(kind);
  if (zone) throw new SourceConfigError("bad_timezone", `--timezone: ${zone}`);
  if (opts.at !== undefined && sourceKinds[kind]!.shape === "lines") throw new SourceConfigError("usage", `--at: only for a snapshot output (${kind} lines carry their own times)`);
  const packages = opts.package_features === undefined ? null : packageFeaturesProblem(kind);
  if (packages) throw new SourceConfigError("bad_package_features", `--package-features: ${packages}`);
  threadFromEnv();
  if (opts.cut_s !== undefined && (!Number.isSafeInteger(opts.cut_s) || opts.cut_s < 1)) throw new SourceConfigError("bad_cut", `cut_s must be a positive integer`);
  const encoding = opts.encoding === undefined ? null : sourceKinds[kind]!.shape === "lines" ? lineEncodingProblem(opts.encoding) : encodingProblem(opts.encoding);
  if (encoding) throw new SourceConfigError("bad_encoding", `--encoding: ${encoding}`);
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new SourceConfigError("file_not_found", `${file} is not a file`);
  } catch (err) {
    if (err instanceof SourceConfigError) throw err;
    throw new SourceConfigError("file_not_found", `cannot read ${file}: ${(err as Error).message}`);
  }
  // UTF-8 is only the default: a file copied from a Windows server is often in its ANSI code page,
  // and read as UTF-8 its names would turn into U+FFFD, silently (two users into one).
  if (opts.encoding === undefined && !(await startsAsUtf8(file, sourceKinds[kind]!.shape !== "lines"))) {
    throw new SourceConfigError("bad_encoding", `${file} is not UTF-8: give its encoding with --encoding (windows-1252, iso-8859-15, shift_jis…), or --encoding utf-8 to read it as UTF-8 anyway`);
  }
  // A file given as the wrong kind would be read as lines of no meaning: nothing billed, and exit 0.
  const problem = kindProblem(kind, await fileHead(file), opts.encoding, file);
  if (problem) throw new SourceConfigError(problem.code, withFix(problem, "--source"), problem.looks_like ? { looks_like: problem.looks_like } : {});
}

/** The first `bytes` of `file` (HEAD_BYTES: what the kind check reads), all of a smaller one. */
export async function fileHead(file: string, bytes = HEAD_BYTES): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(head, 0, bytes, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The records of one file, a batch (≤ 10,000) at a time. */
export async function* recordBatchesFromFile(kind: string, file: string, opts: ParseFileOptions = {}): AsyncGenerator<RecordBody[]> {
  await checkParseFile(kind, file, opts);
  const factory = sourceKinds[kind]!;
  const name = opts.name ?? kind;
  const sourceOpts: SourceOptions = {
    name, timezone: opts.timezone ?? localTimeZone(),
    ...(opts.package_features ? { package_features: opts.package_features } : {}),
  };
  const tracker = new SessionTracker({ source: name, ...(opts.cut_s !== undefined ? { cut_s: opts.cut_s } : {}) });
  let done: ParseDone;

  if (factory.shape === "lines" && onSecondThread((await stat(file)).size, opts.thread)) {
    const blocks = eventsFromWorker(kind, file, sourceOpts, opts.encoding);
    try {
      let next = await blocks.next();
      for (; !next.done; next = await blocks.next()) {
        opts.onProgress?.(next.value.bytes);
        feedPacked(tracker, next.value);
        yield* batches(tracker);
      }
      done = { source: next.value, tracker: tracker.stats() };
    } finally {
      await blocks.return(undefined as never);
    }
  } else if (factory.shape === "lines") {
    const source = factory.create(sourceOpts);
    const splitter = new LineSplitter(opts.encoding);
    const events: SourceEvent[] = [];
    let bytesRead = 0;
    for (const chunk of fileBlocks(file)) {
      bytesRead += chunk.length;
      opts.onProgress?.(bytesRead);
      events.length = 0;
      readBlock(source, splitter.pushText(chunk), events);
      for (const e of events) tracker.feed(e);
      yield* batches(tracker);
    }
    events.length = 0;
    for (const line of splitter.end()) readBlock(source, line, events);
    events.push(...source.end());
    for (const e of events) tracker.feed(e);
    done = { source: source.stats(), tracker: tracker.stats() };
  } else {
    const { events, stats, snapshot } = await parseSnapshotFile(factory.create(sourceOpts), file, opts);
    // Each event is let go of once fed: a large output's holders are not kept while its records stream out.
    while (events.length > 0) {
      tracker.feed(events.shift()!);
      yield* batches(tracker);
    }
    done = { source: stats, tracker: tracker.stats(), snapshot };
  }
  tracker.feedEnd();
  yield* batches(tracker);
  opts.onDone?.({ ...done, tracker: tracker.stats() });
}

/** The records of one file, one at a time (see recordBatchesFromFile). */
export async function* recordsFromFile(kind: string, file: string, opts: ParseFileOptions = {}): AsyncGenerator<RecordBody> {
  for await (const batch of recordBatchesFromFile(kind, file, opts)) yield* batch;
}

/**
 * One snapshot output, parsed, its events at the snapshot's time. The text is read here and not kept
 * past the parse (the generator above would hold it for as long as the records stream out).
 */
async function parseSnapshotFile(source: SnapshotSource, file: string, opts: ParseFileOptions): Promise<{ events: SourceEvent[]; stats: ParseStats; snapshot: NonNullable<ParseDone["snapshot"]> }> {
  const bytes = await readFile(file);
  const text = decodeOutput(bytes, opts.encoding); // as backfill decodes it (file-import.ts): a byte-order mark decides
  opts.onProgress?.(bytes.length);
  const mtime = Math.floor((await stat(file)).mtimeMs);
  const result = source.parse(text, opts.at ?? mtime);
  const time = snapshotTime(result, opts.at, mtime);
  const events = result.events.map((e) => (e.type === "snapshot" || e.type === "server_down" ? { ...e, at: time.at } : e));
  const warning = mtimeWarning(events, time);
  return { events, stats: result.stats, snapshot: { ...time, in_use_mismatch: inUseDifferences(result), ...(warning ? { time_warning: warning } : {}) } };
}

/** `run`'s refusal of a source's log or output that is not UTF-8 while its config names no encoding
 *  (daemon-source.ts for a log's start, poller.ts for each polled output). */
export function notUtf8InConfig(what: string, source: string): CollectorError {
  return new CollectorError("bad_config", `${what} is not UTF-8: give the source's encoding in the config (sources[].encoding: windows-1252, iso-8859-15, shift_jis…; "utf-8" to read it as UTF-8 anyway)`, { reason: "bad_encoding", source });
}

/** Bytes of a file checked to be UTF-8 when no encoding is given (its start: cheap, and where names first appear). */
const UTF8_SAMPLE_BYTES = 1024 * 1024;

/**
 * Whether the first UTF8_SAMPLE_BYTES of `file` are UTF-8 (a character cut at the sample's end is not
 * held against it). `snapshot`: a UTF-16 byte-order mark decides a snapshot output's decoding
 * (snapshot-output.ts `decodeOutput`: PowerShell saves `lmstat -a > out.txt` so), so it is readable too.
 */
export async function startsAsUtf8(file: string, snapshot: boolean): Promise<boolean> {
  const sample = await fileHead(file, UTF8_SAMPLE_BYTES);
  if (snapshot && markedEncoding(sample)?.startsWith("utf-16")) return true;
  const whole = sample.length < UTF8_SAMPLE_BYTES;
  const end = whole ? sample.length : sample.lastIndexOf(10, sample.length - 1) + 1 || sample.length - 3;
  return isUtf8(sample.subarray(0, Math.max(0, end)));
}

/** `TALLY_PARSE_THREAD` (always | never | auto, the default) when `thread` is not given: `parse` and the bench. */
export function threadFromEnv(): NonNullable<ParseFileOptions["thread"]> {
  const value = process.env.TALLY_PARSE_THREAD ?? "auto";
  if (value !== "always" && value !== "never" && value !== "auto") throw new SourceConfigError("bad_thread", `TALLY_PARSE_THREAD must be always, never or auto, got "${value}"`);
  return value;
}

/** Whether a line file with `bytes` still to read is parsed on a second thread (`thread`: see
 *  ParseFileOptions; TALLY_PARSE_THREAD when not given): `parse`, `backfill` (file-import.ts) and a
 *  daemon source's backlog (daemon-source.ts). */
export function onSecondThread(bytes: number, thread: ParseFileOptions["thread"] = threadFromEnv()): boolean {
  return thread === "always" || (thread === "auto" && bytes >= WORKER_MIN_BYTES && coreToSpare());
}

/** Whether a second thread would get a core of its own now. */
function coreToSpare(): boolean {
  return loadavg()[0]! < availableParallelism() - 1.5;
}

function* batches(tracker: SessionTracker): Generator<RecordBody[]> {
  for (let batch = tracker.take(BATCH); batch.length > 0; batch = tracker.take(BATCH)) yield batch;
}

/**
 * For an output read at its file's mtime, when its latest checkout is over a day before that: a
 * warning that the mtime may be a copy's (every listed session is billed up to it). A saved output
 * that states no time (LM-X, lsmon, rlmstat without statistics) and was copied since is read as
 * taken at the copy; the records would say so only by their length. An output that lists no one
 * (a night's poll) bills nothing up to its time: no warning.
 */
export function mtimeWarning(events: readonly SourceEvent[], time: { at: number; time_from: string }): string | undefined {
  if (time.time_from !== "mtime") return undefined;
  let latest = -Infinity;
  for (const e of events) if (e.type === "snapshot") for (const h of e.holders) if (h.start > latest) latest = h.start;
  if (latest === -Infinity) return undefined; // it lists no one: nothing is billed up to that time
  const days = (time.at - latest) / 86_400_000;
  if (!(days > 1)) return undefined;
  return `the output states no time: it was read as taken at its file's modification time ${new Date(time.at).toISOString()}, ${Math.floor(days)} days after its latest checkout (${new Date(latest).toISOString()}), and every session listed is billed up to then; a copied file's modification time is the copy's: give the time the output was taken with --at`;
}

/** How far after now a snapshot's time may be: a clock a few hours off, not a date years ahead. */
const FUTURE_SLACK_MS = 86_400_000;

/**
 * When a snapshot was taken: `--at`, else the time the output states, else the file's mtime (DESIGN.md
 * §9, #11). Refused (bad_input) when that is over a day after `now` and the output lists a holder:
 * every session listed is billed up to it — a server clock or a file's mtime set to 2100, or an `--at`
 * typed wrong, billed decades that have not passed (millions of records from one output).
 */
export function snapshotTime(result: SnapshotResult, at: number | undefined, mtime: number, now = Date.now()): { at: number; time_from: "header" | "at" | "mtime" } {
  const time: { at: number; time_from: "header" | "at" | "mtime" } = at !== undefined ? { at: wholeSecond(at), time_from: "at" }
    : result.stated_at !== undefined ? { at: wholeSecond(result.stated_at), time_from: "header" }
    : { at: wholeSecond(mtime), time_from: "mtime" };
  if (time.at > now + FUTURE_SLACK_MS && result.events.some((e) => e.type === "snapshot" && e.holders.length > 0)) {
    const what = { at: "--at", header: "the time the output states", mtime: "its file's modification time (the output states none)" }[time.time_from];
    throw new CollectorError("bad_input", `the output would be taken at ${new Date(time.at).toISOString()}, ${what}, after now (${new Date(now).toISOString()}): every session it lists would be billed up to then${time.time_from === "at" ? "" : "; give the time it was taken with --at"}`);
  }
  return time;
}
