// Turns record bodies into chained records (seq, prev, ts via `nextRecord`) and appends their
// canonical bytes to the log in one fsync'd group commit. The head is recovered from the log's
// last entry at open, so the chain continues across restarts.
//
// Two steps when a caller must write down what it is about to append before it does (a source's
// read position, daemon/source-journal.ts): `prepare` builds the records and their hashes without
// touching the log, `commit` appends exactly those. Nothing may be appended in between. A caller
// that writes behind (the journal: the next step is prepared while the one before is being made
// durable) prepares on the head its queued records will leave; `commit` refuses anything
// prepared on another head than the log's.
import { MAX_RECORD_BYTES, nextRecord, parseStrictJson, ZERO_HASH, type ChainHead, type ChainRecord, type RecordBody } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import { frameLength, HEADER_BYTES, sealFrame } from "../log/frame.ts";
import type { SegmentLog } from "../log/segment-log.ts";
import { ChainRecordEncoder, canonicalRecordJson, recordHash } from "./record-bytes.ts";

const decoder = new TextDecoder();

/** Records built on a head, ready to append: already framed as the log stores them (a step's
 *  records are many: one object per record alive until they are appended would be copied by every
 *  young-generation GC meanwhile; and a frame built where the record's bytes are written is not
 *  copied again on its way to the file). */
export interface PreparedAppend {
  count: number;
  /** The records' frames (log/frame.ts), entries firstSeq … lastSeq, in runs of whole frames. */
  frames: Uint8Array[];
  /** The head they were built on, and the head after them. */
  after: ChainHead;
  before: ChainHead;
  firstSeq: number;
  lastSeq: number;
  /** Hashes of the first and the last record: how a recovering caller recognises them in the log. */
  firstHash: string;
  lastHash: string;
}

export class RecordWriter {
  readonly collectorId: string;
  readonly #encoder: ChainRecordEncoder;
  readonly #log: SegmentLog;
  readonly #clock: () => number;
  #head: ChainHead;

  private constructor(log: SegmentLog, collectorId: string, head: ChainHead, clock: () => number) {
    this.#log = log;
    this.collectorId = collectorId;
    this.#encoder = new ChainRecordEncoder(collectorId);
    this.#head = head;
    this.#clock = clock;
  }

  static async open(log: SegmentLog, collectorId: string, clock: () => number = Date.now): Promise<RecordWriter> {
    return new RecordWriter(log, collectorId, await recoverHead(log, collectorId), clock);
  }

  head(): ChainHead {
    return { ...this.#head };
  }

  /** Appends the bodies as the next records; resolves with them once they are durable. A record
   * whose canonical bytes would pass MAX_RECORD_BYTES (64 KiB, DESIGN.md §4) is refused before
   * anything is written: the edge would refuse its batch (413 record_too_large) forever. */
  async append(bodies: RecordBody[]): Promise<ChainRecord[]> {
    if (bodies.length === 0) return [];
    const records: ChainRecord[] = [];
    await this.commit(this.prepare(bodies, this.#head, records));
    return records;
  }

  /** The records `bodies` would become, appended next — or after the records that leave the chain
   *  at `on` (at least one body); pushed to `keep` when given. No I/O. */
  prepare(bodies: RecordBody[], on: ChainHead = this.#head, keep?: ChainRecord[]): PreparedAppend {
    if (bodies.length === 0) throw new RangeError("nothing to prepare");
    const ts = this.#clock();
    let buffer = Buffer.allocUnsafe(Math.min(bodies.length * 512, 64 * 1024 * 1024));
    let at = 0;
    const before = on;
    let seq = before.seq;
    let hash = before.hash;
    let firstHash = "";
    for (let i = 0; i < bodies.length; i++) {
      const body = bodies[i]!;
      const start = at + HEADER_BYTES;
      let end: number;
      if (keep) {
        const record = nextRecord(this.collectorId, { seq, hash }, ts, body);
        keep.push(record);
        const json = canonicalRecordJson(record);
        if (start + json.length * 3 > buffer.length) buffer = grown(buffer, at, start + json.length * 3);
        end = start + buffer.write(json, start, json.length * 3, "utf8");
      } else {
        // The same bytes, no record object.
        end = this.#encoder.write(buffer, start, seq + 1, hash, ts, body);
        if (end < 0) {
          buffer = grown(buffer, at, start + this.#encoder.need);
          end = this.#encoder.write(buffer, start, seq + 1, hash, ts, body);
        }
      }
      const length = end - start;
      if (length > MAX_RECORD_BYTES) {
        throw new CollectorError("bad_input", `a ${body.kind} record would be ${length} canonical bytes; a record is at most ${MAX_RECORD_BYTES} (nothing was appended)`,
          { reason: "record_too_large", record_bytes: length, limit: MAX_RECORD_BYTES });
      }
      seq++;
      const payload = buffer.subarray(start, end);
      hash = recordHash(payload);
      at = sealFrame(buffer, at, seq, length, payload);
      if (firstHash === "") firstHash = hash;
    }
    const after = { seq, hash };
    return { count: bodies.length, frames: [buffer.subarray(0, at)], before, after, firstSeq: before.seq + 1, lastSeq: seq, firstHash, lastHash: hash };
  }

  /** Appends prepared records; they must have been prepared on the current head. */
  async commit(prepared: PreparedAppend): Promise<void> {
    if (prepared.before.seq !== this.#head.seq || prepared.before.hash !== this.#head.hash) {
      throw new CollectorError("bad_state", `records prepared on seq ${prepared.before.seq}, but the chain head is ${this.#head.seq}`);
    }
    if (this.#log.lastSeq() !== this.#head.seq) {
      // Someone else appended to this log between open and now: our seqs would be wrong.
      throw new CollectorError("bad_state", `the log's last entry is ${this.#log.lastSeq()}, but the chain head was ${this.#head.seq}`);
    }
    await this.#log.appendFrames(prepared.frames);
    this.#head = prepared.after;
  }

  /** After the log forgot entries above the head's seq (a batch cut short by a crash). */
  async reload(): Promise<void> {
    this.#head = await recoverHead(this.#log, this.collectorId);
  }
}

/** Records prepared one after the other (each on the head the one before leaves) as one append. */
export function joinPrepared(pieces: PreparedAppend[]): PreparedAppend {
  if (pieces.length === 1) return pieces[0]!;
  const first = pieces[0]!, last = pieces[pieces.length - 1]!;
  return {
    count: pieces.reduce((n, p) => n + p.count, 0), frames: pieces.flatMap((p) => p.frames), before: first.before, after: last.after,
    firstSeq: first.firstSeq, lastSeq: last.lastSeq, firstHash: first.firstHash, lastHash: last.lastHash,
  };
}

/** Each prepared record's canonical bytes (views into its frames). */
export function payloadsOf(prepared: PreparedAppend): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const run of prepared.frames) {
    for (let at = 0; at < run.length; ) {
      const end = at + HEADER_BYTES + frameLength(run, at);
      out.push(run.subarray(at + HEADER_BYTES, end));
      at = end;
    }
  }
  return out;
}

/** A buffer of at least `need` bytes holding the first `used` of `buffer`. */
function grown(buffer: Buffer, used: number, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(need, buffer.length * 2));
  buffer.copy(next, 0, 0, used);
  return next;
}

/** The head: the hash of the log's last record, or the receipt's head if that one was released. */
async function recoverHead(log: SegmentLog, collectorId: string): Promise<ChainHead> {
  const lastSeq = log.lastSeq();
  if (lastSeq === 0) return { seq: 0, hash: ZERO_HASH };
  if (lastSeq < log.firstSeq()) {
    const receipt = (log.receipt() as { receipt?: { acked_seq?: number; head?: string } } | null)?.receipt;
    if (receipt?.acked_seq !== lastSeq || typeof receipt.head !== "string") {
      throw new CollectorError("bad_state", `the log's last record ${lastSeq} is released and no receipt names its hash`);
    }
    return { seq: lastSeq, hash: receipt.head };
  }
  const [entry] = await log.read(lastSeq, { maxCount: 1 });
  if (!entry) throw new CollectorError("bad_state", `the log's last record ${lastSeq} cannot be read`);
  const record = decodeRecord(entry.payload, lastSeq);
  if (record.collector_id !== collectorId) {
    throw new CollectorError("bad_state", `the log belongs to ${record.collector_id}, not ${collectorId}`);
  }
  return { seq: lastSeq, hash: recordHash(entry.payload) };
}

/** A stored record, strictly parsed; its seq must be where the log holds it. */
export function decodeRecord(payload: Uint8Array, seq: number): ChainRecord {
  let record: ChainRecord;
  try {
    record = parseStrictJson(decoder.decode(payload)) as ChainRecord;
  } catch (e) {
    throw new CollectorError("check_failed", `record ${seq} is not strict JSON: ${(e as Error).message}`, { seq });
  }
  if (typeof record !== "object" || record === null || record.seq !== seq) {
    throw new CollectorError("check_failed", `log entry ${seq} holds record seq ${(record as { seq?: unknown })?.seq}`, { seq });
  }
  return record;
}
