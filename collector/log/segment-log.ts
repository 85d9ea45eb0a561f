// The collector's append-only log: the site's records, numbered from 1, kept in fsync'd segment
// files until the edge has receipted them. On-disk format and crash-safety argument: FORMAT.md.
import { join, resolve } from "node:path";
import { encodeCursor, saveCursor } from "./cursor.ts";
import type { DirLock } from "./dir-lock.ts";
import { readSegmentEntries, type Entry } from "./entry-reader.ts";
import { LogError } from "./errors.ts";
import { MAX_PAYLOAD_BYTES, encodeFrame, frameBytes } from "./frame.ts";
import { batchStart, countFrames, writeFrames } from "./group-commit.ts";
import { nodeLogFs, removeIfPresent, type LogFile, type LogFs } from "./log-fs.ts";
import type { SegmentState, TornTail } from "./log-scan.ts";
import { recoverLog } from "./log-recovery.ts";
import { indexName } from "./segment-files.ts";
import { cutAfter, rollBack, type WriteEnd } from "./segment-cut.ts";
import { verifyLog, type VerifyReport } from "./verify.ts";

export type { Entry } from "./entry-reader.ts";
export type { TornTail } from "./log-scan.ts";
export type { VerifyReport } from "./verify.ts";

export const DEFAULT_SEGMENT_BYTES = 16 * 1024 * 1024;
export const DEFAULT_READ_COUNT = 1000;
export const DEFAULT_READ_BYTES = 1024 * 1024;

export interface SegmentLogOptions {
  /** A segment takes frames until the next one would push it past this size (one oversized
   *  frame still goes into an empty segment). */
  segmentBytes?: number;
  /** The file system; node:fs by default. Tests pass a simulated disk that loses unsynced bytes. */
  fs?: LogFs;
}

export interface RecoveryReport {
  /** The torn final frame open truncated away, or null when the log ended cleanly. */
  droppedTail: TornTail | null;
  /** A `cursor.json.tmp` from a crash mid-acknowledge was removed (the old cursor stands). */
  removedCursorTmp: boolean;
  /** Pid of a dead previous owner whose lock was taken over. */
  staleLockOwner: number | null;
  firstSeq: number;
  lastSeq: number;
  ackedSeq: number;
  segments: number;
}


export class SegmentLog {
  readonly dir: string;
  readonly #fs: LogFs;
  readonly #segmentBytes: number;
  readonly #lock: DirLock;
  readonly #segments: SegmentState[];
  #writer: LogFile;
  #acked: number;
  #receipt: unknown;
  #queue: Promise<unknown> = Promise.resolve();
  #unusable: LogError | null = null;
  #closed = false;

  private constructor(fs: LogFs, dir: string, segmentBytes: number, lock: DirLock, segments: SegmentState[], writer: LogFile, acked: number, receipt: unknown) {
    this.#fs = fs;
    this.dir = dir;
    this.#segmentBytes = segmentBytes;
    this.#lock = lock;
    this.#segments = segments;
    this.#writer = writer;
    this.#acked = acked;
    this.#receipt = receipt;
  }

  /** Opens (creating if needed) the log in `dir`, takes its lock and recovers: a torn tail is
   *  truncated and reported; any other damage throws `log_corrupt` and changes nothing. */
  static async open(path: string, opts: SegmentLogOptions = {}): Promise<{ log: SegmentLog; recovery: RecoveryReport }> {
    const dir = resolve(path);
    const fs = opts.fs ?? nodeLogFs;
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < 1) throw new LogError("invalid_argument", `segmentBytes must be a whole number ≥ 1, got ${segmentBytes}`);
    const { lock, cursor, removedCursorTmp, segments, tail, writer } = await recoverLog(fs, dir);
    const log = new SegmentLog(fs, dir, segmentBytes, lock, segments, writer, cursor.ackedSeq, cursor.receipt);
    const recovery: RecoveryReport = {
      droppedTail: tail, removedCursorTmp, staleLockOwner: lock.staleOwner,
      firstSeq: log.firstSeq(), lastSeq: log.lastSeq(), ackedSeq: cursor.ackedSeq, segments: segments.length,
    };
    return { log, recovery };
  }

  /** Seq of the newest committed entry (0 for an empty log). */
  lastSeq(): number {
    const last = this.#last();
    return last.firstSeq + last.entries - 1;
  }

  /** Oldest seq still stored (released segments are gone); lastSeq() + 1 when nothing is stored. */
  firstSeq(): number {
    return this.#segments[0]!.firstSeq;
  }

  /** Bytes of committed frames in the segments still kept (what release frees once receipted). */
  bytes(): number {
    return this.#segments.reduce((n, s) => n + s.size, 0);
  }

  ackedSeq(): number {
    return this.#acked;
  }

  /** The receipt persisted with ackedSeq(), or null before the first acknowledge. */
  receipt(): unknown {
    return this.#receipt;
  }

  /** Appends the payloads as entries lastSeq()+1 … and resolves once they are fsync'd (one fsync
   *  per segment touched). On an I/O error the batch is rolled back and nothing is appended. */
  async append(payloads: Uint8Array[]): Promise<{ firstSeq: number; lastSeq: number }> {
    let bytes = 0;
    for (const [i, payload] of payloads.entries()) {
      if (!(payload instanceof Uint8Array)) throw new LogError("invalid_argument", `payload ${i} is not a Uint8Array`);
      if (payload.length > MAX_PAYLOAD_BYTES) throw new LogError("payload_too_large", `payload ${i} has ${payload.length} bytes, over ${MAX_PAYLOAD_BYTES}`);
      bytes += frameBytes(payload.length);
    }
    return this.#serialized(async () => {
      const firstSeq = this.lastSeq() + 1;
      const frames = new Uint8Array(bytes);
      for (let i = 0, at = 0; i < payloads.length; i++) at = encodeFrame(frames, at, firstSeq + i, payloads[i]!);
      if (payloads.length > 0) await this.#appendBatch([frames]);
      return { firstSeq, lastSeq: this.lastSeq() };
    });
  }

  /** The same for frames made by the caller (frame.ts sealFrame), in runs of whole frames: they
   *  must be entries lastSeq()+1 … in order, or nothing is written (`invalid_argument`). */
  async appendFrames(runs: Uint8Array[]): Promise<{ firstSeq: number; lastSeq: number }> {
    return this.#serialized(async () => {
      const firstSeq = this.lastSeq() + 1;
      if (countFrames(runs, firstSeq) > 0) await this.#appendBatch(runs);
      return { firstSeq, lastSeq: this.lastSeq() };
    });
  }

  /** Committed entries from `fromSeq` on, at most maxCount of them and at most maxBytes of
   *  payload (but always at least one when fromSeq ≤ lastSeq()). Empty past the end. */
  async read(fromSeq: number, limits: { maxCount?: number; maxBytes?: number } = {}): Promise<Entry[]> {
    const maxCount = limits.maxCount ?? DEFAULT_READ_COUNT;
    const maxBytes = limits.maxBytes ?? DEFAULT_READ_BYTES;
    if (!Number.isSafeInteger(fromSeq) || fromSeq < 1) throw new LogError("invalid_argument", `fromSeq must be a whole number ≥ 1, got ${fromSeq}`);
    if (!Number.isSafeInteger(maxCount) || maxCount < 1 || !Number.isSafeInteger(maxBytes) || maxBytes < 0) {
      throw new LogError("invalid_argument", "maxCount must be a whole number ≥ 1 and maxBytes ≥ 0");
    }
    return this.#serialized(async () => {
      if (fromSeq < this.firstSeq()) throw new LogError("seq_released", `seq ${fromSeq} was released; the log starts at ${this.firstSeq()}`);
      if (fromSeq > this.lastSeq()) return [];
      const out: Entry[] = [];
      const budget = { count: maxCount, bytes: maxBytes };
      let i = this.#segmentHolding(fromSeq);
      for (let seq = fromSeq; i < this.#segments.length && budget.count > 0; i++) {
        const segment = this.#segments[i]!;
        await readSegmentEntries(this.#fs, this.dir, segment, seq, budget, out);
        seq = segment.firstSeq + segment.entries;
      }
      return out;
    });
  }

  /** Persists the edge's receipt for every entry ≤ seq (atomically, see cursor.ts). A receipt
   *  for the current acked seq replaces the stored one; a lower seq is refused. */
  async acknowledge(seq: number, receipt: unknown): Promise<void> {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new LogError("invalid_argument", `seq must be a whole number ≥ 0, got ${seq}`);
    const text = encodeCursor({ ackedSeq: seq, receipt });
    return this.#serialized(async () => {
      if (seq < this.#acked) throw new LogError("ack_backwards", `receipt acks seq ${seq}, below the acked seq ${this.#acked}`);
      if (seq > this.lastSeq()) throw new LogError("ack_beyond_log", `receipt acks seq ${seq}, beyond the last entry ${this.lastSeq()}`);
      await saveCursor(this.#fs, this.dir, text);
      this.#acked = seq;
      this.#receipt = JSON.parse(text).receipt;
    });
  }

  /** Deletes, oldest first, every segment whose entries are all ≤ the persisted acked seq,
   *  except the segment being written. */
  release(): Promise<{ removedSegments: string[] }> {
    return this.#serialized(async () => {
      const removedSegments: string[] = [];
      while (this.#segments.length > 1) {
        const oldest = this.#segments[0]!;
        if (oldest.firstSeq + oldest.entries - 1 > this.#acked) break;
        await removeIfPresent(this.#fs, join(this.dir, oldest.name));
        await removeIfPresent(this.#fs, join(this.dir, indexName(oldest.firstSeq)));
        this.#segments.shift();
        removedSegments.push(oldest.name);
        // One directory fsync per removal: POSIX does not order unsynced directory changes, so
        // after a crash a later segment's removal could survive without an earlier one's, and
        // the gap would read as a missing segment (log_corrupt).
        await this.#fs.fsyncDir(this.dir);
      }
      return { removedSegments };
    });
  }

  /** Removes every entry after `afterSeq` (FORMAT.md "Forget"). Only for a caller that knows those
   *  entries are the surviving part of its own batch cut short by a crash — never reported as
   *  appended to anyone, so never sent — and that appends the batch again whole. Refuses to touch
   *  an acked entry (`forget_acked`). */
  forget(afterSeq: number): Promise<{ removed: number }> {
    if (!Number.isSafeInteger(afterSeq) || afterSeq < 0) throw new LogError("invalid_argument", `afterSeq must be a whole number ≥ 0, got ${afterSeq}`);
    return this.#serialized(async () => {
      if (afterSeq < this.#acked) throw new LogError("forget_acked", `cannot forget entries after seq ${afterSeq}: seq ${this.#acked} is acked`);
      const lastSeq = this.lastSeq();
      if (afterSeq >= lastSeq) return { removed: 0 };
      try {
        await this.#atWriteEnd((end) => cutAfter(end, afterSeq));
      } catch (e) {
        this.#unusable = new LogError("log_closed", `forget failed (${(e as Error).message}): reopen the log`);
        throw e;
      }
      return { removed: lastSeq - afterSeq };
    });
  }

  /** Re-reads every segment from disk and checks framing, CRCs and numbering against what this
   *  log has committed. Damage is reported in the result, not thrown. */
  verify(): Promise<VerifyReport> {
    return this.#serialized(() => verifyLog(this.#fs, this.dir, this.#segments, this.#acked));
  }

  /** Waits for queued operations, then closes the segment and releases the lock. */
  close(): Promise<void> {
    const run = this.#queue.then(async () => {
      if (this.#closed) return;
      this.#closed = true;
      this.#unusable = new LogError("log_closed", "the log is closed");
      await this.#writer.close().catch(() => undefined); // already closed after a failed rollback
      await this.#lock.release();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  #last(): SegmentState {
    return this.#segments[this.#segments.length - 1]!;
  }

  #segmentHolding(seq: number): number {
    let lo = 0;
    let hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#segments[mid]!.firstSeq <= seq) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Runs a cut (segment-cut.ts) on the segments and writer; the writer may come back replaced. */
  async #atWriteEnd(cut: (end: WriteEnd) => Promise<void>): Promise<void> {
    const end: WriteEnd = { fs: this.#fs, dir: this.dir, segments: this.#segments, writer: this.#writer };
    try {
      await cut(end);
    } finally {
      this.#writer = end.writer;
    }
  }

  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(() => {
      if (this.#unusable) throw this.#unusable;
      return operation();
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #appendBatch(runs: Uint8Array[]): Promise<void> {
    const before = batchStart(this.#segments);
    try {
      await this.#atWriteEnd((end) => writeFrames(end, this.#segmentBytes, runs, before));
    } catch (e) {
      await this.#atWriteEnd((end) => rollBack(end, before)).catch((rollbackError: unknown) => {
        this.#unusable = new LogError("log_closed", `append failed (${(e as Error).message}) and so did its rollback (${(rollbackError as Error).message}): reopen the log`);
      });
      throw e;
    }
  }
}
