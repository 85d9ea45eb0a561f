// Turns record bodies into chained records (seq, prev, ts via `nextRecord`) and appends their
// canonical bytes to the log in one fsync'd group commit. The head is recovered from the log's
// last entry at open, so the chain continues across restarts.
import { canonicalBytes, MAX_RECORD_BYTES, nextRecord, parseStrictJson, sha256Hex, ZERO_HASH, type ChainHead, type ChainRecord, type RecordBody } from "../../shared/protocol/index.ts";
import { CollectorError } from "../errors.ts";
import type { SegmentLog } from "../log/segment-log.ts";

const decoder = new TextDecoder();

export class RecordWriter {
  readonly collectorId: string;
  readonly #log: SegmentLog;
  readonly #clock: () => number;
  #head: ChainHead;

  private constructor(log: SegmentLog, collectorId: string, head: ChainHead, clock: () => number) {
    this.#log = log;
    this.collectorId = collectorId;
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
    const ts = this.#clock();
    const records: ChainRecord[] = [];
    const payloads: Uint8Array[] = [];
    let head = this.#head;
    for (const body of bodies) {
      const record = nextRecord(this.collectorId, head, ts, body);
      const bytes = canonicalBytes(record);
      if (bytes.length > MAX_RECORD_BYTES) {
        throw new CollectorError("bad_input", `a ${body.kind} record would be ${bytes.length} canonical bytes; a record is at most ${MAX_RECORD_BYTES} (nothing was appended)`,
          { reason: "record_too_large", record_bytes: bytes.length, limit: MAX_RECORD_BYTES });
      }
      records.push(record);
      payloads.push(bytes);
      head = { seq: record.seq, hash: sha256Hex(bytes) };
    }
    const { firstSeq } = await this.#log.append(payloads);
    if (firstSeq !== this.#head.seq + 1) {
      // Someone else appended to this log between open and now: our seqs would be wrong.
      throw new CollectorError("bad_state", `log appended at seq ${firstSeq}, but the chain head was ${this.#head.seq}`);
    }
    this.#head = head;
    return records;
  }
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
  return { seq: lastSeq, hash: sha256Hex(entry.payload) };
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
