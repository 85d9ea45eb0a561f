// The two ends of a parse worker (line-parse-worker.ts: a whole file for `parse`; daemon/step-worker.ts:
// a backlog in steps for `backfill` and the daemon): the calling thread's WorkerLink takes the worker's messages in
// order, and the worker's PackPort sends the source's events packed as numbers (event-pack.ts) with
// their session ids hashed ahead (ids-ahead.ts).
//
// One file, two ways to start: from the sources the worker's module is its own script; in the
// collector's one-file bundle every module's `import.meta.url` is the bundle, which re-enters itself —
// the bundle's CLI stays idle off the main thread, and the worker module's last lines start its body
// when they see their key in `workerData` (`workerJob`). The worker runs at most IN_FLIGHT messages
// ahead of the caller (a shared counter it waits on), so memory stays flat when the caller is the
// slower. Anything the worker throws reaches the caller as a ParseWorkerError with the original message.
import { isMainThread, parentPort, Worker, workerData, type MessagePort } from "node:worker_threads";
import { IdsAhead } from "../sessions/ids-ahead.ts";
import type { SessionTracker } from "../sessions/session-tracker.ts";
import { EventPacker, EventUnpacker, PackedIds, type EventPack, type PackedEvents } from "./event-pack.ts";
import type { CheckinReason, LineSource, SourceEvent, UsageSink, UsageWho } from "./events.ts";
import { readBlock } from "./line-blocks.ts";

const EVENTS_PER_MESSAGE = 4096;
/** Messages the worker may be ahead of the caller; once there, it waits until it is only LOW ahead
 *  (one wake-up per few messages: each wake-up may cost the caller its CPU for a moment). */
const IN_FLIGHT = 16, LOW = 8;
/** Messages the caller must have waiting before the worker hashes session ids ahead (see `#hash`). */
const HASH_BEHIND = 6;
// The shared counters: messages taken, messages sent, and whether the worker waits.
const ACKED = 0, SENT = 1, WAITING = 2;

/** What every worker's job carries besides its own fields. */
export interface LinkedJob { counters: SharedArrayBuffer }

/** The messages every worker sends besides its own. */
export type LinkMessage =
  | { t: "events"; pack: EventPack; bytes: number }
  | { t: "error"; message: string; code?: string; stack?: string };

export class ParseWorkerError extends Error {
  readonly code: string;
  constructor(message: string, code = "parse_worker_failed", stack?: string) {
    super(message);
    this.code = code;
    if (stack) this.stack = `${this.name}: ${message}\n  in the parse worker: ${stack}`;
  }
}

/** A pack's events (read in order, one at a time), with the ids hashed ahead for them. */
export interface EventBlock { events: PackedEvents; ids: PackedIds; bytes: number }

/** A pack's events into the session tracker, each with the id hashed ahead for it where there is one. */
export function feedPacked(tracker: SessionTracker, { events, ids }: EventBlock): void {
  for (let i = 0; i < events.length; i++) {
    const ordinal = ids.ordinalAt(i);
    if (ordinal < 0) tracker.feed(events.at(i));
    else tracker.feedPrepared(events.at(i), ordinal, ids.idAt(i));
  }
}

/** The calling thread's end: starts the worker and takes its messages in order. */
export class WorkerLink<M extends { t: string }> {
  readonly #worker: Worker;
  readonly #counters: Int32Array;
  readonly #queue: (M | LinkMessage)[] = [];
  readonly #unpacker = new EventUnpacker();
  #failure: Error | undefined;
  #wake: (() => void) | undefined;

  /** `url`: the worker module's `import.meta.url`; `key`: its `workerJob` key; `file`: for messages. */
  constructor(url: string, key: string, job: object, file: string) {
    this.#counters = new Int32Array(new SharedArrayBuffer(12));
    this.#worker = new Worker(new URL(url), { workerData: { [key]: { ...job, counters: this.#counters.buffer } } });
    const woken = () => this.#wake?.();
    this.#worker.on("message", (m: M | LinkMessage) => { this.#queue.push(m); woken(); });
    this.#worker.on("error", (e: Error) => { this.#failure ??= new ParseWorkerError(`the parse worker failed: ${e.message}`, "parse_worker_failed", e.stack); woken(); });
    this.#worker.on("exit", (code) => {
      this.#failure ??= new ParseWorkerError(`the parse worker stopped (exit code ${code}) before the end of ${file}`);
      woken();
    });
  }

  /** The next message: an events message unpacked, or the worker's own (a worker error is thrown). */
  async next(): Promise<M | EventBlock> {
    while (this.#queue.length === 0) {
      if (this.#failure) throw this.#failure;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
    const m = this.#queue.shift()!;
    const counters = this.#counters;
    const acked = Atomics.add(counters, ACKED, 1) + 1;
    if (Atomics.load(counters, WAITING) === 1 && Atomics.load(counters, SENT) - acked <= LOW) {
      Atomics.store(counters, WAITING, 0);
      Atomics.notify(counters, ACKED);
    }
    if (m.t === "error") {
      const e = m as Extract<LinkMessage, { t: "error" }>;
      throw new ParseWorkerError(e.message, e.code, e.stack);
    }
    if (m.t !== "events") return m as M;
    const { pack, bytes } = m as Extract<LinkMessage, { t: "events" }>;
    return { events: this.#unpacker.open(pack), ids: new PackedIds(pack), bytes };
  }

  close(): Promise<number> {
    return this.#worker.terminate();
  }
}

/**
 * The worker's end: the source's events packed, with their ids hashed ahead, and its own messages.
 * As the source's UsageSink it takes most checkouts and check-ins from their fields, without an event
 * object (a debug log's: flexlm-debuglog.ts `direct`).
 */
export class PackPort<M extends { t: string }> implements UsageSink {
  readonly port: MessagePort;
  readonly #counters: Int32Array;
  readonly #packer = new EventPacker(EVENTS_PER_MESSAGE);
  readonly #ahead: IdsAhead;
  #sent = 0;
  // Hash session ids ahead only while the caller is well behind (HASH_BEHIND messages waiting): the
  // caller still counts the ordinal and takes the id across, so a guess saves it a hash but costs the
  // worker the count, the text and the hash. From 2 messages behind it cost more than it saved:
  // 300 MB debug log, parse 4.57–4.77 s → 4.13–4.38 s, backfill's steps 5.45–5.79 → 5.16–5.32 s;
  // 200 MB usage-dense 3.99–4.12 → 3.91–4.11 s and 4.58–4.76 → 4.32–4.46 s (2026-12-04).
  #hash = false;
  readonly #events: SourceEvent[] = [];
  /** Bytes read so far, for the messages sent while a block is read. */
  #bytes = 0;

  /** `source`: the source name (every session id's text starts with it). */
  constructor(job: LinkedJob, source: string) {
    this.port = parentPort!;
    this.#counters = new Int32Array(job.counters);
    this.#ahead = new IdsAhead(source);
  }

  /** Events packed (and sent whenever a pack is full); `bytes`: bytes read, for the pack's message. */
  add(events: readonly SourceEvent[], bytes: number): void {
    for (const e of events) {
      if (this.#packer.full) this.sendEvents(bytes);
      this.#ahead.see(e, this.#hash);
      this.#packer.add(e, this.#ahead.ordinal, this.#ahead.id);
    }
  }

  /** A block of complete lines through `source`, its events packed; `bytes`: read so far, this block included. */
  read(source: LineSource, block: string, bytes: number): void {
    const events = this.#events;
    this.#bytes = bytes;
    events.length = 0;
    readBlock(source, block, events, this);
    this.add(events, bytes);
  }

  /** UsageSink: the events in `out` first, then this checkout or check-in. */
  usage(out: SourceEvent[], checkin: boolean, at: number, daemon: string, who: UsageWho, count: number, handle: string | undefined, reason: CheckinReason | undefined): void {
    if (out.length > 0) {
      this.add(out, this.#bytes);
      out.length = 0;
    }
    if (this.#packer.full) this.sendEvents(this.#bytes);
    const ahead = this.#ahead;
    if (checkin) ahead.seeAt(at);
    else ahead.seeCheckout(at, daemon, who.feature, who.user, who.host, who.product, handle, this.#hash);
    this.#packer.addUsage(checkin, at, daemon, who, count, handle, reason, ahead.ordinal, ahead.id);
  }

  /** Events packed so far. */
  get packed(): number {
    return this.#packer.events;
  }

  /** The events packed so far, as one message (even if none: progress). */
  sendEvents(bytes: number): void {
    const pack = this.#packer.take();
    this.#post({ t: "events", pack, bytes } satisfies LinkMessage, [pack.values.buffer as ArrayBuffer, pack.ids.buffer as ArrayBuffer]);
  }

  /** The worker's own message, after the events packed so far (if any). */
  send(message: M, bytes = 0): void {
    if (this.#packer.events > 0) this.sendEvents(bytes);
    this.#post(message, []);
  }

  #post(message: unknown, transfer: ArrayBuffer[]): void {
    const counters = this.#counters;
    if (this.#sent - Atomics.load(counters, ACKED) >= IN_FLIGHT) {
      Atomics.store(counters, WAITING, 1); // before reading the count again: the caller checks it after counting
      for (let a = Atomics.load(counters, ACKED); this.#sent - a > LOW; a = Atomics.load(counters, ACKED)) Atomics.wait(counters, ACKED, a, 1000);
      Atomics.store(counters, WAITING, 0);
    }
    Atomics.store(counters, SENT, ++this.#sent);
    this.port.postMessage(message, transfer);
    this.#hash = this.#sent - Atomics.load(counters, ACKED) >= HASH_BEHIND;
  }
}

/** This thread's job under `key`, when it is a worker started with one. */
export function workerJob<J>(key: string): J | undefined {
  return isMainThread ? undefined : (workerData as Record<string, J> | null)?.[key];
}

/** Runs a worker's body; what it throws (or rejects with) goes to the caller as an error message. */
export function runWorker(body: () => void | Promise<void>): void {
  try {
    const done = body();
    if (done) done.catch(reportToCaller);
  } catch (err) {
    reportToCaller(err);
  }
}

/** An error of the worker, sent to the caller (who throws it as a ParseWorkerError). */
function reportToCaller(err: unknown): void {
  const e = err as Error & { code?: unknown };
  parentPort!.postMessage({ t: "error", message: e.message ?? String(err), ...(typeof e.code === "string" ? { code: e.code } : {}), ...(e.stack ? { stack: e.stack } : {}) } satisfies LinkMessage);
}
