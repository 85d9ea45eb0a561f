// Cuts pending records into batches (≤ 5,000 records and ≤ 1 MiB of uncompressed body, the
// site's own limit, well inside the edge's 4 MiB) and encodes one: the records' stored
// canonical bytes verbatim, one checkpoint signed over the last record's hash. Online sync gzips
// the body; `export` writes it as is into a bundle.
import { canonicalJson, sha256Hex, signCheckpoint, ZERO_HASH, type Checkpoint } from "../../shared/protocol/index.ts";

export const SYNC_BATCH_RECORDS = 5000;
export const SYNC_BATCH_BYTES = 1024 * 1024;

export interface BatchLimits { records: number; bytes: number }
export const syncBatchLimits: BatchLimits = { records: SYNC_BATCH_RECORDS, bytes: SYNC_BATCH_BYTES };

/** A record as the log holds it: its canonical bytes, whose SHA-256 is the record's hash. */
export interface PendingRecord { seq: number; payload: Uint8Array }

const encoder = new TextEncoder();
const OPEN = encoder.encode('{"records":[');
const COMMA = encoder.encode(",");
const MID = encoder.encode('],"checkpoint":');
const SIG_OPEN = encoder.encode(',"signature":"');
const CLOSE = encoder.encode('"}');
const SIGNATURE_HEX = 128;

/** Exact body bytes besides the records themselves, for a batch ending at `lastSeq`. */
export function bodyOverhead(collectorId: string, lastSeq: number, ts: number): number {
  const checkpoint = encoder.encode(canonicalJson({ collector_id: collectorId, seq: lastSeq, head: ZERO_HASH, ts } satisfies Checkpoint));
  return OPEN.length + MID.length + checkpoint.length + SIG_OPEN.length + SIGNATURE_HEX + CLOSE.length;
}

/**
 * How many of `pending` (contiguous, ascending) go into the next batch: as many as keep the
 * encoded body within `limits.bytes`, at most `limits.records`, and always at least one (a
 * single record over the site limit still fits the edge's).
 */
export function fitBatch(pending: PendingRecord[], collectorId: string, ts: number, limits: BatchLimits = syncBatchLimits): number {
  let recordBytes = 0;
  let n = 0;
  for (const r of pending) {
    if (n === limits.records) break;
    const next = recordBytes + r.payload.length + (n > 0 ? COMMA.length : 0);
    if (n > 0 && next + bodyOverhead(collectorId, r.seq, ts) > limits.bytes) break;
    recordBytes = next;
    n++;
  }
  return n;
}

export interface EncodedBatch {
  checkpoint: Checkpoint;
  signature: string;
  /** Uncompressed JSON body. */
  body: Uint8Array;
  firstSeq: number;
  lastSeq: number;
}

/** Where a batch must end and which key signs one starting at a seq (chain/signing-keys.ts). */
export interface BatchSigner { batchEnd(firstSeq: number): number; secretFor(firstSeq: number): string }

/** The pending records from `from` cut into the next batch — as many as `limits` allow, ending
 *  where a pending key rotation must end it — and that batch signed: what `sync` posts and
 *  `export` writes. */
export async function nextBatch(
  log: { read(fromSeq: number, limits: { maxCount: number; maxBytes: number }): Promise<PendingRecord[]> },
  signing: BatchSigner, from: number, collectorId: string, ts: number, limits: BatchLimits,
): Promise<{ records: PendingRecord[]; batch: EncodedBatch }> {
  const end = signing.batchEnd(from);
  const entries = (await log.read(from, { maxCount: limits.records, maxBytes: limits.bytes })).filter((e) => e.seq <= end);
  const records = entries.slice(0, fitBatch(entries, collectorId, ts, limits));
  return { records, batch: encodeBatch(records, collectorId, ts, signing.secretFor(from)) };
}

export function encodeBatch(records: PendingRecord[], collectorId: string, ts: number, secretKey: string): EncodedBatch {
  const last = records[records.length - 1];
  if (!last) throw new RangeError("a batch needs at least one record");
  const checkpoint: Checkpoint = { collector_id: collectorId, seq: last.seq, head: sha256Hex(last.payload), ts };
  const signature = signCheckpoint(checkpoint, secretKey);
  const parts: Uint8Array[] = [OPEN];
  for (const [i, r] of records.entries()) {
    if (i > 0) parts.push(COMMA);
    parts.push(r.payload);
  }
  parts.push(MID, encoder.encode(canonicalJson(checkpoint)), SIG_OPEN, encoder.encode(signature), CLOSE);
  const body = concat(parts);
  return { checkpoint, signature, body, firstSeq: records[0]!.seq, lastSeq: last.seq };
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
