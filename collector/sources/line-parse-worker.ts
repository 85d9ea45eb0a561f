// A line file parsed on a second thread: the worker reads the file, splits it and runs the line
// source; the calling thread gets the events, packed as numbers (event-pack.ts), and feeds its
// session tracker — on a 1 GB debug log the two halves take about as long each, so the parse runs
// at the speed of the slower one instead of the sum (parse-file.ts uses it for large files).
//
// One file, two ways to start: from the sources this module is the worker's script; in the
// collector's one-file bundle every module's `import.meta.url` is the bundle, which re-enters
// itself — the bundle's CLI stays idle off the main thread, and this module's last lines start the
// worker body when they see its `workerData`. The worker runs at most IN_FLIGHT messages ahead of
// the tracker (a shared counter it waits on), so memory stays flat when the tracker is the slower.
// Anything the worker throws reaches the caller as a ParseWorkerError with the original message.
import { closeSync, openSync, readSync } from "node:fs";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { IdsAhead } from "../sessions/ids-ahead.ts";
import { EventPacker, EventUnpacker, PackedIds, type EventPack } from "./event-pack.ts";
import type { ParseStats, SourceEvent, SourceOptions } from "./events.ts";
import { BLOCK_BYTES, readBlock } from "./line-blocks.ts";
import { LineSplitter } from "./line-splitter.ts";
import { sourceKinds } from "./registry.ts";

/** The key of the worker's `workerData` (so the bundle knows to start the worker body). */
const JOB = "tallyLineParse";
const EVENTS_PER_MESSAGE = 4096;
/** Bytes read before the events so far are sent even if few (progress, and the tracker's turn). */
const SEND_BYTES = 256 * 1024;
/** Messages the worker may be ahead of the tracker; once there, it waits until it is only LOW ahead
 *  (one wake-up per few messages: each wake-up may cost the tracker its CPU for a moment). */
const IN_FLIGHT = 16, LOW = 8;
// The shared counters: messages consumed, messages sent, and whether the worker waits.
const ACKED = 0, SENT = 1, WAITING = 2;

interface Job { kind: string; file: string; options: SourceOptions; counters: SharedArrayBuffer }

type Message =
  | { t: "events"; pack: EventPack; bytes: number }
  | { t: "done"; stats: ParseStats }
  | { t: "error"; message: string; code?: string; stack?: string };

export class ParseWorkerError extends Error {
  readonly code: string;
  constructor(message: string, code = "parse_worker_failed", stack?: string) {
    super(message);
    this.code = code;
    if (stack) this.stack = `${this.name}: ${message}\n  in the parse worker: ${stack}`;
  }
}

/** The file's events, a message at a time, with the bytes read so far; returns the source's counters. */
export async function* eventsFromWorker(kind: string, file: string, options: SourceOptions): AsyncGenerator<{ events: SourceEvent[]; ids: PackedIds; bytes: number }, ParseStats> {
  const counters = new Int32Array(new SharedArrayBuffer(12));
  const job: Job = { kind, file, options, counters: counters.buffer as SharedArrayBuffer };
  const worker = new Worker(new URL(import.meta.url), { workerData: { [JOB]: job } });
  const queue: Message[] = [];
  let failure: Error | undefined;
  let exited = false;
  let wake: (() => void) | undefined;
  const woken = () => wake?.();
  worker.on("message", (m: Message) => { queue.push(m); woken(); });
  worker.on("error", (e: Error) => { failure ??= new ParseWorkerError(`the parse worker failed: ${e.message}`, "parse_worker_failed", e.stack); woken(); });
  worker.on("exit", (code) => {
    exited = true;
    failure ??= new ParseWorkerError(`the parse worker stopped (exit code ${code}) before the end of ${file}`);
    woken();
  });
  const unpacker = new EventUnpacker();
  try {
    for (;;) {
      while (queue.length === 0) {
        if (failure || exited) throw failure;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      const m = queue.shift()!;
      if (m.t === "error") throw new ParseWorkerError(m.message, m.code, m.stack);
      if (m.t === "done") return m.stats;
      const acked = Atomics.add(counters, ACKED, 1) + 1;
      if (Atomics.load(counters, WAITING) === 1 && Atomics.load(counters, SENT) - acked <= LOW) {
        Atomics.store(counters, WAITING, 0);
        Atomics.notify(counters, ACKED);
      }
      const events: SourceEvent[] = [];
      unpacker.unpack(m.pack, events);
      yield { events, ids: new PackedIds(m.pack), bytes: m.bytes };
    }
  } finally {
    await worker.terminate();
  }
}

/** The worker's side: the whole file through the line source, its events sent in packs. */
function parseInWorker(job: Job): void {
  const port = parentPort!;
  const counters = new Int32Array(job.counters);
  const packer = new EventPacker(EVENTS_PER_MESSAGE);
  let sent = 0, bytes = 0, bytesSent = 0;
  // Hash session ids ahead only while the tracker has messages waiting: when it is the faster side,
  // the worker's time is better spent reading on.
  let hash = false;
  const send = () => {
    if (sent - Atomics.load(counters, ACKED) >= IN_FLIGHT) {
      Atomics.store(counters, WAITING, 1); // before reading the count again: the tracker checks it after counting
      for (let a = Atomics.load(counters, ACKED); sent - a > LOW; a = Atomics.load(counters, ACKED)) Atomics.wait(counters, ACKED, a, 1000);
      Atomics.store(counters, WAITING, 0);
    }
    const pack = packer.take();
    Atomics.store(counters, SENT, ++sent);
    port.postMessage({ t: "events", pack, bytes } satisfies Message, [pack.values.buffer as ArrayBuffer, pack.ids.buffer as ArrayBuffer]);
    hash = sent - Atomics.load(counters, ACKED) >= 2;
    bytesSent = bytes;
  };
  const events: SourceEvent[] = [];
  const ahead = new IdsAhead(job.options.name);
  const pass = () => {
    for (const e of events) {
      if (packer.full) send();
      ahead.see(e, hash);
      packer.add(e, ahead.ordinal, ahead.id);
    }
    events.length = 0;
  };
  const factory = sourceKinds[job.kind];
  if (factory?.shape !== "lines") throw new RangeError(`${job.kind} is not a line source`);
  const source = factory.create(job.options);
  const splitter = new LineSplitter();
  const fd = openSync(job.file, "r");
  try {
    const buffer = Buffer.allocUnsafe(BLOCK_BYTES);
    for (let n = readSync(fd, buffer, 0, BLOCK_BYTES, null); n > 0; n = readSync(fd, buffer, 0, BLOCK_BYTES, null)) {
      bytes += n;
      readBlock(source, splitter.pushText(buffer.subarray(0, n)), events);
      pass();
      if (bytes - bytesSent >= SEND_BYTES) send();
    }
  } finally {
    closeSync(fd);
  }
  for (const line of splitter.end()) readBlock(source, line, events);
  for (const e of source.end()) events.push(e);
  pass();
  if (packer.events > 0 || bytes > bytesSent) send();
  port.postMessage({ t: "done", stats: source.stats() } satisfies Message);
}

const job = isMainThread ? undefined : (workerData as Record<string, Job> | null)?.[JOB];
if (job) {
  try {
    parseInWorker(job);
  } catch (err) {
    const e = err as Error & { code?: unknown };
    parentPort!.postMessage({ t: "error", message: e.message ?? String(err), ...(typeof e.code === "string" ? { code: e.code } : {}), ...(e.stack ? { stack: e.stack } : {}) } satisfies Message);
  }
}
