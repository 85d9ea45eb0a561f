// Building a chain on the site side: the next record after a head, and a signed batch.
import { hashCanonical } from "./canonical.ts";
import type { Batch, ChainRecord, Checkpoint, RecordBody } from "./schema.ts";
import { signCheckpoint } from "./signing.ts";

export interface ChainHead { seq: number; hash: string }

/** The record that follows `head`, exactly as it will be hashed and signed. */
export function nextRecord(collectorId: string, head: ChainHead, ts: number, body: RecordBody): ChainRecord {
  return { v: 1, collector_id: collectorId, seq: head.seq + 1, prev: head.hash, ts, kind: body.kind, data: body.data as Record<string, unknown> };
}

/** A batch of contiguous records with one checkpoint signed over the last record's hash. */
export function signBatch(records: ChainRecord[], ts: number, secretKeyHex: string): Batch {
  const last = records[records.length - 1];
  if (!last) throw new RangeError("a batch needs at least one record");
  const checkpoint: Checkpoint = { collector_id: last.collector_id, seq: last.seq, head: hashCanonical(last), ts };
  return { records, checkpoint, signature: signCheckpoint(checkpoint, secretKeyHex) };
}
