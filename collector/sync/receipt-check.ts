// Whether a receipt from the edge may be stored (DESIGN.md §4): signed by a known edge key,
// for this collector, never backwards, covering the whole batch we sent, and naming as head
// the hash our own log has at acked_seq. A receipt that fails any of these is refused.
import { signedReceiptSchema, verifyReceipt, type Receipt } from "../../shared/protocol/index.ts";
import type { EdgeKey } from "../state/edge-keys.ts";

export type ReceiptRefusal =
  | "malformed_receipt"
  | "unknown_key"
  | "bad_receipt_signature"
  | "receipt_collector_mismatch"
  | "receipt_backwards"
  | "receipt_incomplete"
  | "receipt_beyond_log"
  | "receipt_head_mismatch";

export type ReceiptVerdict =
  | { ok: true; receipt: Receipt; signature: string }
  | { ok: false; code: ReceiptRefusal; message: string };

export interface ReceiptExpectation {
  collectorId: string;
  /** Our cursor before this batch. */
  ackedSeq: number;
  /** The last seq of the batch the receipt answers. */
  sentThrough: number;
  /** The last seq in our log. */
  lastSeq: number;
}

/** `hashAt(seq)`: the hash of our record at seq, or undefined when the log no longer holds it. */
export async function checkReceipt(
  raw: unknown,
  expect: ReceiptExpectation,
  keys: EdgeKey[],
  hashAt: (seq: number) => Promise<string | undefined>,
): Promise<ReceiptVerdict> {
  const refuse = (code: ReceiptRefusal, message: string): ReceiptVerdict => ({ ok: false, code, message });
  const parsed = signedReceiptSchema.safeParse(raw);
  if (!parsed.success) return refuse("malformed_receipt", `receipt: ${parsed.error.issues[0]?.path.join(".")} ${parsed.error.issues[0]?.message}`);
  const { receipt, signature } = parsed.data;
  if (receipt.collector_id !== expect.collectorId) {
    return refuse("receipt_collector_mismatch", `receipt is for ${receipt.collector_id}, not ${expect.collectorId}`);
  }
  const key = keys.find((k) => k.key_id === receipt.key_id);
  if (!key) return refuse("unknown_key", `receipt is signed by unknown edge key ${receipt.key_id}`);
  if (!verifyReceipt(receipt, signature, key.public_key)) {
    return refuse("bad_receipt_signature", `receipt signature does not verify with edge key ${receipt.key_id}`);
  }
  if (receipt.acked_seq < expect.ackedSeq) {
    return refuse("receipt_backwards", `receipt acks seq ${receipt.acked_seq}, below the ${expect.ackedSeq} already receipted`);
  }
  if (receipt.acked_seq > expect.lastSeq) {
    return refuse("receipt_beyond_log", `receipt acks seq ${receipt.acked_seq} but our log ends at seq ${expect.lastSeq}`);
  }
  if (receipt.acked_seq < expect.sentThrough) {
    return refuse("receipt_incomplete", `receipt acks seq ${receipt.acked_seq}, short of the batch's last seq ${expect.sentThrough}`);
  }
  const ours = await hashAt(receipt.acked_seq);
  if (ours !== receipt.head) {
    return refuse("receipt_head_mismatch", `receipt head for seq ${receipt.acked_seq} is ${receipt.head.slice(0, 12)}…, our record hashes to ${ours?.slice(0, 12) ?? "nothing"}…`);
  }
  return { ok: true, receipt, signature };
}
